"""One summary line per hardening area, printed at the end of the pytest run and kept in
``test-artifacts/summary/`` for ``.ci/run`` (not a test module).

``record_area`` is called by the tests that count what they tried (bad inputs, 500s); the
``security`` marker's pass/fail count is added by the conftest hook.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

SUMMARY_DIR = Path(os.environ.get("KURONEKO_SUMMARY_DIR")
                   or Path(__file__).resolve().parent.parent / "test-artifacts" / "summary")
LINES: dict[str, str] = {}


def database_label() -> str:
    url = os.environ.get("KURONEKO_TEST_DATABASE_URL", "sqlite")
    if url.startswith("postgresql"):
        return "PostgreSQL"
    if url.startswith("mysql") or url.startswith("mariadb"):
        return "MariaDB"
    return "SQLite"


def _write(area: str, line: str) -> None:
    LINES[area] = line
    SUMMARY_DIR.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{database_label()} {area}".lower()).strip("-")
    (SUMMARY_DIR / f"{slug}.txt").write_text(line + "\n", encoding="utf-8")


def record_area(area: str, *, tried: int, failed: int, what: str) -> None:
    """``area``: e.g. "bad inputs (example shop routes)"; ``what`` names the failures."""
    _write(area, f"[{database_label()}] {area}: {tried} tried, {failed} {what}")


def record_checks(area: str, *, passed: int, failed: int) -> None:
    _write(area, f"[{database_label()}] {area}: {passed} passed, {failed} failed")
