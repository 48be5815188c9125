"""Helpers shared by the real-browser test modules (fixtures are in conftest.py)."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SANDBOX_MERCHANT = "12345678901"


def require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("KURONEKO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required (KURONEKO_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(f"real-browser test skipped: {missing}")


@contextmanager
def served(app) -> Iterator[int]:
    """``app`` on a real socket (werkzeug in a thread) for the block; yields the port."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def shot(page, name: str) -> Path:
    """A full-page screenshot into test-artifacts/ (look at it: the file viewer shows PNGs)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def payments(app) -> list:
    """The shop's payment rows, detached, oldest first."""
    from example_shop.extensions import db, kuroneko
    with app.app_context():
        Payment = kuroneko.models.Payment
        rows = db.session.scalars(db.select(Payment).order_by(Payment.id)).all()
        db.session.expunge_all()
        return rows


def fill_customer(page) -> None:
    """The お客様情報 form filled with the test customer."""
    page.fill("#name", "山田 太郎")
    page.fill("#name_kana", "ヤマダ タロウ")
    page.fill("#postal_code", "1000001")
    page.select_option("#prefecture", "東京都")
    page.fill("#address1", "千代田区千代田1-1")
    page.fill("#phone", "0312345678")
    page.fill("#email", "taro@example.com")


def to_confirmation(page, base: str, method: str, **extra: str) -> None:
    """Catalogue → product → cart → お客様情報 → お支払方法 → 確認."""
    page.goto(base + "/")
    page.get_by_role("link", name="有田焼 マグカップ").click()
    page.get_by_role("button", name="カートに入れる").click()
    page.get_by_role("link", name="ご購入手続きへ").click()
    fill_customer(page)
    page.check("input[name=delivery_method][value=takkyubin]")
    page.get_by_role("button", name="お支払方法の選択へ").click()
    page.check(f"#method-{method} input[name=payment_method]")
    for selector, value in extra.items():
        page.fill(f"#{selector}", value)
    page.get_by_role("button", name="ご注文内容の確認へ").click()
    page.wait_for_selector("#place-order")


# --------------------------------------------------------------------------- accessibility

#: axe-core (MPL-2.0) from the npm registry: `npm install --prefix tests/browser/axe` (.ci/run
#: does it when missing); never committed.
AXE_JS = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
#: The impacts a page must not have (axe's "serious" and "critical").
BLOCKING_IMPACTS = ("serious", "critical")


def require_axe() -> None:
    require_browser()
    if not AXE_JS.exists():
        missing = (f"{AXE_JS.relative_to(ARTIFACTS.parent)} is missing "
                   "(npm install --prefix tests/browser/axe)")
        if os.environ.get("KURONEKO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"accessibility check required (KURONEKO_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(f"accessibility check skipped: {missing}")


def axe_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each
    (rule, impact, the offending elements). The page's context must bypass its CSP (the
    extension's pages run only scripts carrying the request's nonce)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})")
    lines = []
    for violation in result["violations"]:
        if violation["impact"] not in BLOCKING_IMPACTS:
            continue
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        lines.append(f"{page.url}: {violation['id']} ({violation['impact']}): "
                     f"{violation['help']} — {targets}")
    return lines
