"""Every page for every role under AppTest, with Quorum on PostgreSQL (the demo workspace)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import new_postgres_database
from tests.signin import sign_in
from tests.test_pages import ROLE_PAGES


@pytest.fixture(scope="module")
def database_url(postgres):
    return new_postgres_database(postgres, empty=True)  # the app loads the demo into it


@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_each_role_renders_each_of_its_pages_on_postgres(database_url, monkeypatch, username):
    monkeypatch.setenv("QUORUM_DATABASE_URL", database_url)
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)
    at = AppTest.from_file("../app.py", default_timeout=60)
    sign_in(at, username)
    at.run()
    assert not at.exception, at.exception
    for page in ROLE_PAGES[username]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page
