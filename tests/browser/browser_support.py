"""Helpers shared by the real-browser test modules (fixtures are in conftest.py)."""
from __future__ import annotations

import os
from pathlib import Path

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
