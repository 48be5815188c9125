"""The sandbox protection in a real browser (Debian's chromium via Playwright): the human
page's own buttons work, and a form on another site that posts to the sandbox is refused.

Skipped without /usr/bin/chromium unless KURONEKO_REQUIRE_BROWSER=1 (fixtures: conftest.py).
"""
from __future__ import annotations

import pytest
from flask import Flask

from browser_support import served
from flask_kuroneko.sandbox import create_app
from flask_kuroneko.sandbox.guard import ALLOWED_CLIENTS_ENV
from test_sandbox_support import MERCHANT, NOW, authorize, ship

pytestmark = pytest.mark.browser


def attacker(target: str) -> Flask:
    """Another site with a form aimed at the sandbox's reset button."""
    app = Flask("attacker")

    @app.get("/")
    def page():
        return (f'<form method="post" action="{target}/_sim/ui/reset">'
                '<button id="go">プレゼントを受け取る</button></form>')

    return app


@pytest.mark.parametrize("attacker_host", ["localhost", "127.0.0.1"])   # cross-site, same-site
def test_own_buttons_work_and_another_sites_form_is_refused(page, simulator,
                                                            sandbox_session, monkeypatch,
                                                            attacker_host):
    monkeypatch.delenv(ALLOWED_CLIENTS_ENV, raising=False)
    simulator.set_now(NOW)
    authorize(sandbox_session, "A1")
    ship(sandbox_session, "A1")
    authorize(sandbox_session, "A2", telNum="0312340002")
    with served(create_app(simulator)) as port:
        sandbox = f"http://127.0.0.1:{port}"
        page.goto(f"{sandbox}/")
        row = page.locator("tr", has_text="A1")
        row.get_by_role("button", name="配達完了").click()
        page.wait_for_selector("p.msg")
        assert "A1: 配達完了を実行しました。" in page.inner_text("p.msg")
        assert simulator.transaction(MERCHANT, "A1")["status"] == 10

        with served(attacker(sandbox)) as evil_port:
            page.goto(f"http://{attacker_host}:{evil_port}/")
            page.click("#go")
            page.wait_for_load_state()
            assert "別のサイトから送信された操作は受け付けません" in page.content()
    assert len(simulator.transactions()) == 2          # the reset did not happen
