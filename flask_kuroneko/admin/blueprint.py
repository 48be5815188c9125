"""Assembly of the ``kuroneko_admin`` blueprint: access guard, CSRF cooperation, layout and
the error-log notice shared by every page. The views live in one module per screen."""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, redirect, url_for

from ..migrations import SchemaOutOfDate, ensure_current
from . import common, logs_views, methods_views, payments_views, prepayment_views, settings_views

logger = logging.getLogger(__name__)

BLUEPRINT_NAME = "kuroneko_admin"


def create_blueprint() -> Blueprint:
    """The admin blueprint (templates under ``templates/kuroneko/admin/``, overridable by the
    host at the same path)."""
    bp = Blueprint(BLUEPRINT_NAME, __name__, template_folder="../templates")
    bp.before_request(_guard)
    bp.context_processor(_template_context)
    bp.record_once(_exempt_from_flask_wtf)
    bp.add_url_rule("/", "index", lambda: redirect(url_for(".payments")))
    settings_views.register(bp)
    methods_views.register(bp)
    payments_views.register(bp)
    logs_views.register(bp)
    prepayment_views.register(bp)
    return bp


def _guard() -> Any:
    """Every admin request asks the host first; closed (403) without @kuroneko.admin_guard.
    Then the schema: on out-of-date tables every page would fail on a missing column, so
    each one says which command fixes it instead (503; cached once current, no query)."""
    refused = common.state().check_admin()
    if refused is not None:
        return refused
    try:
        ensure_current(common.state().db.engine)
    except SchemaOutOfDate as exc:
        logger.error("kuroneko admin refused: %s", exc)
        return common.render("schema.html", status=503, message=exc.message_ja)
    return None


def _exempt_from_flask_wtf(setup_state) -> None:
    """Every admin POST carries the session CSRF token of ``AdminForm`` (always on), so a host
    running Flask-WTF's CSRFProtect must not reject our forms for lacking *its* token.
    (Initialise CSRFProtect before ``kuroneko.init_app``; otherwise call
    ``csrf.exempt(app.blueprints["kuroneko_admin"])`` yourself.)"""
    csrf = setup_state.app.extensions.get("csrf")
    if csrf is not None and hasattr(csrf, "exempt"):
        csrf.exempt(setup_state.blueprint)


def _template_context() -> dict[str, Any]:
    return {"kuroneko_base_template": common.base_template(),
            "kuroneko_error_notice": _error_notice, "jst": common.jst,
            "FLASH_ERROR": common.FLASH_ERROR}


def _error_notice() -> str | None:
    """M22: while any 決済エラーログ exists every admin page says so, with the newest time."""
    st = common.state()
    newest = st.db.session.scalar(sa.select(sa.func.max(st.models.ErrorLog.created_at)))
    return common.jst(newest) if newest is not None else None
