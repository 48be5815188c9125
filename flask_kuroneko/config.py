"""``KURONEKO_*`` configuration: one defaults dict and a strict accessor (Flask-Security style).

Why strict: a misspelt key (``KURONEKO_MERCHANTCODE``) would otherwise be ignored silently and
the shop would talk to Yamato with the wrong settings. Unknown ``KURONEKO_*`` keys in
``app.config`` are refused at ``init_app`` and unknown names passed to :func:`get` raise.

Keys whose default is ``None`` in :data:`SETTINGS_OVERRIDES` mirror a field of the settings row
(M1–M7); setting them in ``app.config`` overrides the database value and locks the field in the
admin form (see ``settings.py``).
"""
from __future__ import annotations

import logging
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app

from .errors import ConfigurationError
from .web.headers import DEFAULT_CSP

logger = logging.getLogger(__name__)

PREFIX = "KURONEKO_"
ENVIRONMENTS = ("sandbox", "test", "production")

#: Settings-row field -> config key (without prefix). ``None`` in app.config = "use the DB".
SETTINGS_OVERRIDES: dict[str, str] = {
    "merchant_code": "MERCHANT_CODE",
    "password": "PASSWORD",
    "environment": "ENVIRONMENT",
    "yamato_delivery_method_ids": "YAMATO_DELIVERY_METHODS",
    "other_carrier_enabled": "OTHER_CARRIER",
    "smartphone_enabled": "SMARTPHONE",
    "ship_within_days": "SHIP_WITHIN_DAYS",
    "fee_mode": "FEE_MODE",
    "fee_fixed": "FEE_FIXED",
    "fee_tiers": "FEE_TIERS",
    "credit_limit": "CREDIT_LIMIT",
    "cancel_with_order": "CANCEL_WITH_ORDER",
    "change_amount_with_order": "CHANGE_AMOUNT_WITH_ORDER",
    "prepayment_log_enabled": "PREPAYMENT_LOG",
    "conversion_tag": "CONVERSION_TAG",
    "conversion_on_review": "CONVERSION_ON_REVIEW",
    "b2_shipper_name": "B2_SHIPPER_NAME",
    "b2_shipper_name_kana": "B2_SHIPPER_NAME_KANA",
    "b2_shipper_phone": "B2_SHIPPER_PHONE",
    "b2_shipper_postal_code": "B2_SHIPPER_POSTAL_CODE",
    "b2_shipper_address": "B2_SHIPPER_ADDRESS",
    "b2_shipper_building": "B2_SHIPPER_BUILDING",
    "b2_billing_customer_code": "B2_BILLING_CUSTOMER_CODE",
    "b2_billing_class_code": "B2_BILLING_CLASS_CODE",
    "b2_freight_no": "B2_FREIGHT_NO",
    "b2_slip_types": "B2_SLIP_TYPES",
    "b2_cool_methods": "B2_COOL_METHODS",
    "b2_header_row": "B2_HEADER_ROW",
    "b2_columns": "B2_COLUMNS",
    "b2_notice_mail": "B2_NOTICE_MAIL",
}

#: Every accepted key (without the ``KURONEKO_`` prefix) and its default.
DEFAULTS: dict[str, Any] = {
    # --- settings-row overrides (None = take the value stored by the admin) -----------------
    **{key: None for key in SETTINGS_OVERRIDES.values()},
    # --- URLs and templates ----------------------------------------------------------------
    "ADMIN_URL_PREFIX": "/admin/kuroneko",
    "CHECKOUT_URL_PREFIX": "/kuroneko",
    "ADMIN_ENABLED": True,            # register the admin blueprint
    "CHECKOUT_ENABLED": True,         # register the checkout blueprint
    "BASE_TEMPLATE": "kuroneko/base.html",
    "CHECKOUT_SUCCESS_ENDPOINT": None,   # url_for(endpoint, order_id=...) after 与信
    "CHECKOUT_FAILURE_ENDPOINT": None,   # url_for(endpoint, order_id=...) after 決済不可
    # --- talking to Yamato ------------------------------------------------------------------
    "TIMEOUT": 20.0,                  # seconds, every API call (spec §2.2: integrations use 20–30)
    "STATUS_TIMEOUT": 10.0,           # seconds, state inquiries (KAAST/KAARS) from the sweep
    "CART_CODE": None,                # cartCode sent with KAARA0010 (partner id), optional
    "BULK_CONCURRENCY": 8,            # parallel Yamato calls of one runner of a bulk job
    "SMS_WINDOW_MINUTES": 30,         # M12: スマホタイプ authentication window
    "NOTIFY_SECRET": None,            # SMS push receiver secret (Basic auth password or path)
    # --- abuse limits (SECURITY.md) ---------------------------------------------------------
    "SMS_SEND_LIMIT": 5,              # SMS (new orders and 再送信) per phone number and per browser
    "SMS_SEND_LIMIT_MINUTES": 10,     # ... within this many minutes
    "SMS_CODE_LIMIT": 10,             # wrong SMS codes per phone number and per browser
    "SMS_CODE_LIMIT_MINUTES": 30,     # ... within this many minutes
    "CONTENT_SECURITY_POLICY": DEFAULT_CSP,  # extension's pages; {nonce} filled in; None: none
    "SECRET_KEY": None,               # encrypts the stored merchant password (else SECRET_KEY)
    "SECRET_KEY_FALLBACKS": (),       # old keys, still accepted for decryption (rotation)
    "BEHIND_TLS_PROXY": False,        # M14: production pages need HTTPS unless a proxy terminates it
    # --- the host's order statuses (inbound signals) ---------------------------------------
    "SHIPPED_STATUSES": ("発送済み",),
    "CANCELLED_STATUSES": ("キャンセル",),
    # --- sandbox ----------------------------------------------------------------------------
    "SANDBOX_STATE": None,            # path of a shared SQLite store (web process + CLI worker)
    "SANDBOX_URL": None,              # base URL of a stand-alone sandbox server
    # --- worker -----------------------------------------------------------------------------
    "SWEEP_INTERVAL": 60,             # seconds between two sweeps of `flask kuroneko worker`
    "SYNC_INTERVAL": 3600,            # seconds: a held payment is compared with Yamato this often
    "SYNC_BATCH": 200,                # payments read per batch of the status sync
    "SHIP_WINDOW_WARNING_DAYS": 14,   # flag a 与信 this many days before Yamato's 90-day window ends
    # --- the host's clock -------------------------------------------------------------------
    "TIMEZONE": None,                 # zone of a naive OrderData.placed_at; None: Japan + warning
    # --- bulk jobs (flask_kuroneko/jobs) ----------------------------------------------------
    "JOBS_RUNNER": None,              # "worker" | "celery"; None = celery after init_celery
    "JOBS_POLL_INTERVAL": 2,          # seconds the worker waits between looks for queued jobs
    "JOBS_CHUNK_SIZE": 100,           # items one Celery task claims and runs
    "JOBS_CELERY_CHUNKS": 4,          # Celery tasks of one job in flight at once
    "B2_MAX_UPLOAD_MB": 20,           # largest B2 issued-data file accepted (MB)
}


def apply_defaults(app: Flask) -> None:
    """Fill missing keys with their defaults and refuse unknown or invalid ``KURONEKO_*`` keys."""
    unknown = sorted(k for k in app.config if k.startswith(PREFIX) and k[len(PREFIX):] not in DEFAULTS)
    if unknown:
        raise ConfigurationError(
            f"Unknown configuration key(s) {', '.join(unknown)}: check the spelling against "
            f"docs/integration.md (known keys: {', '.join(PREFIX + k for k in sorted(DEFAULTS))}).")
    for key, value in DEFAULTS.items():
        app.config.setdefault(PREFIX + key, value)
    validate(app)


#: Shortest accepted KURONEKO_NOTIFY_SECRET (the SMS push receiver's path secret).
NOTIFY_SECRET_MIN = 16


def validate(app: Flask) -> None:
    """Check the values whose mistakes would only show up at the first payment."""
    env = app.config[PREFIX + "ENVIRONMENT"]
    if env is not None and env not in ENVIRONMENTS:
        raise ConfigurationError(
            f"KURONEKO_ENVIRONMENT={env!r} is not valid: use one of {', '.join(ENVIRONMENTS)} "
            "(or leave it unset to use the environment chosen in the admin settings).")
    for key in ("TIMEOUT", "STATUS_TIMEOUT"):
        value = app.config[PREFIX + key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigurationError(f"KURONEKO_{key} must be a positive number of seconds.")
    for key in ("BULK_CONCURRENCY", "SMS_WINDOW_MINUTES", "SWEEP_INTERVAL", "SYNC_INTERVAL",
                "SYNC_BATCH", "SHIP_WINDOW_WARNING_DAYS", "SMS_SEND_LIMIT",
                "SMS_SEND_LIMIT_MINUTES", "SMS_CODE_LIMIT", "SMS_CODE_LIMIT_MINUTES",
                "JOBS_POLL_INTERVAL", "JOBS_CHUNK_SIZE", "JOBS_CELERY_CHUNKS", "B2_MAX_UPLOAD_MB"):
        value = app.config[PREFIX + key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"KURONEKO_{key} must be a positive integer.")
    statuses: dict[str, set[str]] = {}
    for key in ("SHIPPED_STATUSES", "CANCELLED_STATUSES"):
        value = app.config[PREFIX + key]
        if isinstance(value, str):
            raise ConfigurationError(
                f"KURONEKO_{key} must be a list or tuple of the host's status names, "
                f"e.g. ({value!r},) — not a single string.")
        if not isinstance(value, (list, tuple, set, frozenset)) or not all(
                isinstance(s, str) for s in value):
            raise ConfigurationError(
                f"KURONEKO_{key} must be a list or tuple of the host's status names (str), "
                "e.g. (\"発送済み\",); use () when no status should trigger it.")
        statuses[key] = set(value)
    both = statuses["SHIPPED_STATUSES"] & statuses["CANCELLED_STATUSES"]
    if both:
        raise ConfigurationError(
            f"{', '.join(sorted(both))} is listed in both KURONEKO_SHIPPED_STATUSES and "
            "KURONEKO_CANCELLED_STATUSES: a status means shipped or cancelled, remove it from one.")
    for key in ("ADMIN_URL_PREFIX", "CHECKOUT_URL_PREFIX"):
        value = app.config[PREFIX + key]
        if not isinstance(value, str) or not value.startswith("/"):
            raise ConfigurationError(f"KURONEKO_{key} must be a path starting with '/'.")
    secret = app.config[PREFIX + "NOTIFY_SECRET"]
    if secret is not None and (not isinstance(secret, str) or len(secret) < NOTIFY_SECRET_MIN
                               or "/" in secret):
        # The secret in the URL is the push receiver's authentication: never a guessable one,
        # nor one that can never match a URL segment. (The value itself is not echoed.)
        raise ConfigurationError(
            f"KURONEKO_NOTIFY_SECRET must be a random string of at least {NOTIFY_SECRET_MIN} "
            "characters without '/', e.g. secrets.token_urlsafe(24) (or None to close the "
            "SMS push receiver).")
    shop_timezone(app)      # a misspelt zone fails here, not at the first order
    if app.config[PREFIX + "JOBS_RUNNER"] not in (None, "worker", "celery"):
        raise ConfigurationError(
            "KURONEKO_JOBS_RUNNER must be \"worker\" (flask kuroneko worker runs bulk jobs), "
            "\"celery\" (your Celery workers do, see kuroneko.init_celery) or None (celery once "
            "kuroneko.init_celery(celery_app) was called, else worker).")
    if app.config[PREFIX + "SANDBOX_URL"] and app.config[PREFIX + "SANDBOX_STATE"]:
        raise ConfigurationError(
            "Set only one of KURONEKO_SANDBOX_URL (a stand-alone sandbox server) and "
            "KURONEKO_SANDBOX_STATE (an in-process sandbox with a shared state file).")


def get(name: str, app: Flask | None = None) -> Any:
    """The value of ``KURONEKO_<name>`` for ``app`` (default: the current app).

    ``name`` may be given with or without the prefix. An unknown name raises
    ConfigurationError instead of returning None, so typos in our own code fail loudly.
    """
    key = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if key not in DEFAULTS:
        raise ConfigurationError(
            f"Unknown configuration key KURONEKO_{key}: see flask_kuroneko.config.DEFAULTS "
            "for the accepted keys.")
    app = app if app is not None else current_app
    return app.config.get(PREFIX + key, DEFAULTS[key])


def shop_timezone(app: Flask | None = None) -> tzinfo | None:
    """KURONEKO_TIMEZONE as a tzinfo: the zone in which the host's naive datetimes are written
    (an IANA name such as "UTC" or "Asia/Tokyo", or a tzinfo); None when not set."""
    value = get("TIMEZONE", app)
    if value is None or isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"KURONEKO_TIMEZONE={value!r} is not a time zone: use an IANA name such as "
            "\"Asia/Tokyo\" or \"UTC\" (the zone your naive order datetimes are written in), "
            "or a tzinfo object.") from None
