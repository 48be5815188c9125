"""Assembly of the ``kuroneko_admin`` blueprint: access guard, CSRF cooperation, layout and
the error-log notice shared by every page. The views live in one module per screen."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, redirect, url_for

from .. import payments, web
from ..web import headers, layout, logmask
from ..migrations import SchemaOutOfDate, ensure_current
from . import common, logs_views, methods_views, payments_views, prepayment_views, settings_views
from . import b2_export_views, b2_import_views, b2_settings_views, jobs_views
from . import diagnostics_views, drift_views, notices, payment_list

logger = logging.getLogger(__name__)

BLUEPRINT_NAME = "kuroneko_admin"


def create_blueprint() -> Blueprint:
    """The admin blueprint (templates under ``templates/kuroneko/admin/``, overridable by the
    host at the same path)."""
    bp = Blueprint(BLUEPRINT_NAME, __name__, template_folder="../templates")
    # The id converter must be known to the app before the first rule that uses it.
    bp.record_once(lambda setup_state: web.install_id_converter(setup_state.app))
    bp.before_request(_guard)
    bp.before_request(web.refuse_control_characters)
    bp.after_request(_protect)
    bp.context_processor(_template_context)
    bp.context_processor(headers.template_context)
    bp.record_once(layout.exempt_from_flask_wtf)
    # Unhandled errors are logged on app.logger: no customer data from SQL parameters there.
    bp.record_once(lambda setup_state: logmask.install(setup_state.app.logger))
    bp.add_url_rule("/", "index", lambda: redirect(url_for(".payments")))
    settings_views.register(bp)
    methods_views.register(bp)
    payment_list.register(bp)
    payments_views.register(bp)
    drift_views.register(bp)
    diagnostics_views.register(bp)
    logs_views.register(bp)
    prepayment_views.register(bp)
    jobs_views.register(bp)
    b2_export_views.register(bp)
    b2_import_views.register(bp)
    b2_settings_views.register(bp)
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


def _protect(response: Any) -> Any:
    """Admin pages show customers' personal data: never cached, never framed (SECURITY.md)."""
    return headers.protect(response, no_store=True)


def _template_context() -> dict[str, Any]:
    return {"kuroneko_base_template": common.base_template(),
            "kuroneko_error_notice": notices.newest_error, "jst": common.jst,
            "kuroneko_open_drifts": payments.open_drift_count,
            "kuroneko_ship_window_closing": notices.ship_window_closing,
            "FLASH_ERROR": common.FLASH_ERROR}
