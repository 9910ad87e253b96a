"""The Profile page's tokens and the Webhooks page under AppTest."""

from __future__ import annotations

import pytest

from core import tokens
from server import runtime, settings
from tests.test_pages import app, texts  # noqa: F401 (the fixture)


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_a_token_is_made_shown_once_and_revoked_on_the_profile(app):  # noqa: F811
    at = app("rita")
    at.switch_page("views/profile.py").run()
    assert "API tokens" in texts(at) and "no tokens yet" in texts(at)
    name = next(t for t in at.text_input if t.label == "Token name")
    name.input("nightly export")
    _button(at, "Make token").click().run()
    assert not at.exception
    secret = at.code[0].value
    assert secret.startswith("qpat_") and "Copy it now" in texts(at)
    conn = runtime.connection()
    assert tokens.authenticate(conn, secret, settings.now()).username == "rita"
    assert secret not in str(conn.execute("SELECT * FROM api_tokens").fetchall())
    _button(at, "I have copied it").click().run()
    assert not at.code  # shown once: gone for good
    assert "nightly export" in texts(at) and "last used" in texts(at)  # by the check above
    _button(at, "Revoke").click().run()
    assert "revoked" in texts(at)
    with pytest.raises(tokens.Unauthenticated, match="revoked"):
        tokens.authenticate(conn, secret, settings.now())


def test_a_token_without_a_name_is_refused_under_the_field(app):  # noqa: F811
    at = app("ada")
    at.switch_page("views/profile.py").run()
    _button(at, "Make token").click().run()
    assert not at.code
    assert any("Give the token a name" in e.value for e in at.error)


def test_the_webhooks_page_registers_shows_the_secret_once_and_lists_deliveries(
        app, monkeypatch):  # noqa: F811
    monkeypatch.setenv("QUORUM_WEBHOOK_HOSTS", "127.0.0.1")
    at = app("rita")
    at.switch_page("views/webhooks.py").run()
    assert not at.exception and "No receivers yet" in texts(at)
    next(t for t in at.text_input if t.label == "Receiver address").input("http://127.0.0.1:9/x")
    _button(at, "Register").click().run()
    assert not at.exception
    secret = at.code[0].value
    assert secret.startswith("whsec_")
    assert "answer.submitted" in texts(at) and "0 delivered" in texts(at)
    _button(at, "I have copied it").click().run()
    assert [c.value for c in at.code] == ["http://127.0.0.1:9/x"]  # the secret is gone
    _button(at, "Rotate secret").click().run()
    assert at.code[0].value.startswith("whsec_") and at.code[0].value != secret
    assert "Nothing sent yet" in texts(at)


def test_the_webhooks_page_says_which_host_is_refused(app, monkeypatch):  # noqa: F811
    monkeypatch.setenv("QUORUM_WEBHOOK_HOSTS", "hooks.example.com")
    at = app("rita")
    at.switch_page("views/webhooks.py").run()
    next(t for t in at.text_input if t.label == "Receiver address").input("http://10.1.1.1/x")
    _button(at, "Register").click().run()
    assert not at.code
    assert any("not a host this server may call" in e.value for e in at.error)
