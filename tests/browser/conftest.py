"""Fixtures of the real-browser tests: the example shop on a real socket and a Playwright page
in Debian's chromium (Playwright's own browser download does not work on these machines).

Skipped when /usr/bin/chromium is missing, unless KURONEKO_REQUIRE_BROWSER=1 (CI), which turns
the skip into a failure. Helpers shared by the test modules live in ``browser_support``.
"""
from __future__ import annotations

import pytest

from browser_support import CHROMIUM, require_browser, served
from schema_support import drop_tables


@pytest.fixture
def viewport() -> dict:
    """A phone-sized window; a module overrides this fixture for desktop pages."""
    return {"width": 390, "height": 844}


@pytest.fixture
def live_shop(database_url, simulator):
    """The example shop on a real socket (werkzeug make_server in a thread)."""
    require_browser()
    from example_shop import create_app, db
    app = create_app({"SECRET_KEY": "browser-test", "SQLALCHEMY_DATABASE_URI": database_url,
                      "SHOP_SIMULATOR": simulator})
    try:
        with served(app) as port:
            yield app, f"http://127.0.0.1:{port}"
    finally:
        with app.app_context():
            drop_tables(db)


@pytest.fixture
def page(viewport):
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(viewport=viewport, locale="ja-JP")
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()
