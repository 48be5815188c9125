"""Layered fixtures: sandbox (wire) -> api_client -> app/db/client (extension, example shop).

Sections are owned by different work streams; keep each section's fixtures together.
"""
from __future__ import annotations

import os

import pytest

# --------------------------------------------------------------------------- wire: sandbox


@pytest.fixture
def simulator():
    """A fresh in-memory Yamato simulator (default merchant 12345678901 / testpass)."""
    from flask_kuroneko.sandbox import Simulator
    return Simulator()


@pytest.fixture
def sandbox_session(simulator):
    """A requests.Session whose sandbox base URL is served in-process by ``simulator``."""
    from flask_kuroneko.sandbox import sandbox_session as make_session
    return make_session(simulator)


@pytest.fixture
def api_client(sandbox_session):
    """The real client, over the real requests transport, talking to the in-process sandbox."""
    from flask_kuroneko.client import KuronekoClient
    return KuronekoClient("12345678901", "testpass", environment="sandbox",
                          session=sandbox_session, timeout=5)


# --------------------------------------------------------------------------- databases


def test_database_url(tmp_path) -> str:
    """URL of the database the suite runs on: KURONEKO_TEST_DATABASE_URL, default SQLite."""
    url = os.environ.get("KURONEKO_TEST_DATABASE_URL", "sqlite")
    if url == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    return url


test_database_url.__test__ = False  # a helper, not a test

# --------------------------------------------------------------------------- extension core
