"""The sandbox protection in a real browser (Debian's chromium via Playwright): the human
page's own buttons work, and a form on another site that posts to the sandbox is refused.

Skipped without /usr/bin/chromium unless KURONEKO_REQUIRE_BROWSER=1 (as tests/browser/).
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from flask_kuroneko.sandbox import create_app
from flask_kuroneko.sandbox.guard import ALLOWED_CLIENTS_ENV
from test_sandbox_support import MERCHANT, NOW, authorize, ship

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"


def require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is not installed"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed"
    if missing:
        if os.environ.get("KURONEKO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required (KURONEKO_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(f"real-browser test skipped: {missing}")


@contextmanager
def served(app):
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def attacker(target: str) -> Flask:
    """Another site with a form aimed at the sandbox's reset button."""
    app = Flask("attacker")

    @app.get("/")
    def page():
        return (f'<form method="post" action="{target}/_sim/ui/reset">'
                '<button id="go">プレゼントを受け取る</button></form>')

    return app


@pytest.fixture
def browser_page():
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(locale="ja-JP")
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


@pytest.mark.parametrize("attacker_host", ["localhost", "127.0.0.1"])   # cross-site, same-site
def test_own_buttons_work_and_another_sites_form_is_refused(browser_page, simulator,
                                                            sandbox_session, monkeypatch,
                                                            attacker_host):
    monkeypatch.delenv(ALLOWED_CLIENTS_ENV, raising=False)
    simulator.set_now(NOW)
    authorize(sandbox_session, "A1")
    ship(sandbox_session, "A1")
    authorize(sandbox_session, "A2", telNum="0312340002")
    with served(create_app(simulator)) as port:
        sandbox = f"http://127.0.0.1:{port}"
        browser_page.goto(f"{sandbox}/")
        row = browser_page.locator("tr", has_text="A1")
        row.get_by_role("button", name="配達完了").click()
        browser_page.wait_for_selector("p.msg")
        assert "A1: 配達完了を実行しました。" in browser_page.inner_text("p.msg")
        assert simulator.transaction(MERCHANT, "A1")["status"] == 10

        with served(attacker(sandbox)) as evil_port:
            browser_page.goto(f"http://{attacker_host}:{evil_port}/")
            browser_page.click("#go")
            browser_page.wait_for_load_state()
            assert "別のサイトから送信された操作は受け付けません" in browser_page.content()
    assert len(simulator.transactions()) == 2          # the reset did not happen
