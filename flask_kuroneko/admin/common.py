"""Helpers shared by the admin views: page rendering, flash categories, Japan time."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from flask import flash, render_template

from ..state import current_state
from ..web import layout
from ..yamato.timezone import JST

logger = logging.getLogger(__name__)

STANDALONE_TEMPLATE = "kuroneko/admin/_standalone.html"
FLASH_ERROR = "kuroneko_admin_error"
FLASH_INFO = "kuroneko_admin_info"
#: Who the history rows name as the actor of admin operations.
ACTOR = "admin"


def state() -> Any:
    return current_state()


def base_template() -> str:
    """The host's KURONEKO_BASE_TEMPLATE, else the admin's own minimal layout."""
    return layout.base_template(STANDALONE_TEMPLATE)


def render(template: str, *, status: int = 200, **context: Any):
    return render_template(f"kuroneko/admin/{template}", **context), status


def error(message: str) -> None:
    flash(message, FLASH_ERROR)


def info(message: str) -> None:
    flash(message, FLASH_INFO)


def jst(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A naive-UTC timestamp of our tables shown in Japan time (the merchant's clock)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(JST).strftime(fmt)


def int_arg(value: Any, default: int = 1, maximum: int = 100_000) -> int:
    """A page number from the query string: ASCII digits only (「²」 is a digit to
    ``str.isdigit``), clamped to 1…``maximum``; bad or absurd values never reach the database."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 40:
        return default
    return min(max(1, int(value)), maximum)


def csrf_refused():
    """A POST without a valid token: refused (400), nothing changed."""
    from .forms import MSG_CSRF
    logger.warning("kuroneko admin: POST refused (CSRF token missing or invalid)")
    return render("refused.html", status=400, message=MSG_CSRF)
