"""Item pictures: which the expert's browser may load (ui/workflow_form.image_source)."""

from core import egress
from ui.workflow_form import image_refusal, image_source

NONE = egress.parse_policy(None, None, hosts_setting="QUORUM_IMAGE_HOSTS")
OURS = egress.parse_policy("images.acme.com,*.cdn.acme.com", None,
                           hosts_setting="QUORUM_IMAGE_HOSTS")


def test_web_pictures_load_only_from_hosts_the_operator_allows():
    assert image_source("https://tracker.example.net/pixel.png?who=me", NONE) is None
    assert image_source("https://images.acme.com/cat.png", NONE) is None
    assert image_source("https://images.acme.com/cat.png", OURS) == \
        "https://images.acme.com/cat.png"
    assert image_source("https://eu.cdn.acme.com/cat.png", OURS) == \
        "https://eu.cdn.acme.com/cat.png"
    assert image_source("https://images.acme.com.evil.net/cat.png", OURS) is None
    assert image_source("https://user@images.acme.com/cat.png", OURS) is None


def test_inline_and_data_folder_pictures_need_no_host():
    assert image_source("data:image/png;base64,iVBORw0KGgo=", NONE).startswith("data:image/")
    assert image_source("data/demo/palettes/pastel_spring.png", NONE).endswith(
        "pastel_spring.png")
    assert image_source("../etc/passwd", NONE) is None
    assert image_source("data/../core/db/__init__.py", NONE) is None


def test_a_refused_picture_says_which_host_and_which_setting():
    assert "tracker.example.net" in image_refusal("https://tracker.example.net/p.png")
    assert "QUORUM_IMAGE_HOSTS" in image_refusal("https://tracker.example.net/p.png")
    assert "data folder" in image_refusal("/etc/passwd")
