"""The ``Kuroneko`` extension object: init_app, host hooks (decorators), the checkout API, and
the wiring of the inbound signals.

Flask extension conventions: the app is never stored on the extension; everything that belongs
to one app lives in ``app.extensions["kuroneko"]`` (a ``runtime.KuronekoState``), so one
``Kuroneko`` object can serve several apps with different configuration. Host hooks are
registered once on the extension (Flask-Login's ``user_loader`` style) and shared by its apps.

This is the top of the package: it imports the blueprints, the CLI and the checkout API; nothing
below imports it (lower layers reach the per-app state through ``state.current_state``).
"""
from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any, Callable, TypeVar

from flask import Flask, current_app, has_app_context

from . import checkout_api, config, jobs, signals
from .admin import create_blueprint as create_admin_blueprint
from .admin import install_host_helpers, panel_for
from .checkout import create_blueprint as create_checkout_blueprint
from .cli import kuroneko_cli
from .errors import ConfigurationError
from .jobs import celery_runner
from .models import define_models
from .orderdata import OrderData
from .payments import payment_state, reactions
from .runtime import KuronekoState
from .settings import validate_overrides
from .state import EXTENSION_KEY, current_state

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Kuroneko:
    """Yamato クロネコ代金後払いサービス for a Flask app.

    ``Kuroneko(app, db)`` or ``kuroneko = Kuroneko()`` + ``kuroneko.init_app(app, db)`` where
    ``db`` is the host's ``flask_sqlalchemy.SQLAlchemy`` (the kuroneko_* tables are used
    through its session and engine, but created only by the extension's own migrations:
    ``flask kuroneko db upgrade`` or :meth:`upgrade_db`).
    """

    def __init__(self, app: Flask | None = None, db: Any = None):
        self._db = db
        #: The shop's Celery app running bulk jobs (see :meth:`init_celery`), or None.
        self.celery_app: Any = None
        #: Hook name -> function (see ``hooks.HOOK_CONTRACTS``); shared by every app.
        self.registered_hooks: dict[str, Callable[..., Any]] = {}
        if app is not None:
            self.init_app(app, db)

    def __repr__(self) -> str:
        return f"<Kuroneko hooks={sorted(self.registered_hooks)}>"

    # ----------------------------------------------------------------- init

    def init_app(self, app: Flask, db: Any = None) -> None:
        """Configure ``app``: defaults, tables, blueprints, CLI, inbound signals."""
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError(
                f"Kuroneko is already initialised on the app {app.name!r}: call init_app once per "
                "app (do not both pass the app to Kuroneko(app, db) and call init_app).")
        db = db if db is not None else self._db
        if db is None:
            raise ConfigurationError(
                "Kuroneko needs the host's Flask-SQLAlchemy object: call init_app(app, db) "
                "(or Kuroneko(app, db)) with db = SQLAlchemy(...).")
        if "sqlalchemy" not in app.extensions:
            raise ConfigurationError(
                "Flask-SQLAlchemy is not initialised on this app: call db.init_app(app) before "
                "kuroneko.init_app(app, db).")
        config.apply_defaults(app)
        validate_overrides(app)
        state = KuronekoState(self, app, db)
        app.extensions[EXTENSION_KEY] = state
        self._register_blueprints(app)
        if config.get("ADMIN_ENABLED", app):
            install_host_helpers(app)    # the 決済情報 panel etc. post to the admin blueprint
        app.cli.add_command(kuroneko_cli)
        _connect_inbound_signals()
        logger.debug("kuroneko initialised on app %s", app.name)

    def _register_blueprints(self, app: Flask) -> None:
        for create, enabled_key, prefix_key in (
                (create_checkout_blueprint, "CHECKOUT_ENABLED", "CHECKOUT_URL_PREFIX"),
                (create_admin_blueprint, "ADMIN_ENABLED", "ADMIN_URL_PREFIX")):
            if config.get(enabled_key, app):
                app.register_blueprint(create(), url_prefix=config.get(prefix_key, app))

    # ----------------------------------------------------------------- hooks (decorators)

    def _register(self, name: str, fn: F) -> F:
        if not callable(fn):
            raise ConfigurationError(f"@kuroneko.{name} must decorate a function.")
        self.registered_hooks[name] = fn
        return fn

    def order_loader(self, fn: F) -> F:
        """Register ``(order_id: str) -> order | None``.

        Contract: return the host order with that id, or None when there is none. Never raise
        for an unknown or malformed id (ids come from URLs, logs and Yamato). Called inside
        an app context with the extension's ``db.session`` active.
        """
        return self._register("order_loader", fn)

    def order_describer(self, fn: F) -> F:
        """Register ``(order) -> OrderData``.

        Contract: describe the order as it is NOW (customer, billing/shipping address, lines,
        adjustments such as 送料/手数料/値引き, ``total`` = lines + adjustments, delivery method
        id, carrier, tracking number, desired delivery date, status, line kinds). Pure: do not
        change or commit anything. ``snapshot`` may hold extra data the restorer needs.
        """
        return self._register("order_describer", fn)

    def delivery_methods_loader(self, fn: F) -> F:
        """Register ``() -> list[tuple[str, str]]``.

        Contract: the shop's delivery methods (配送方法) as (id, name) pairs; the settings page
        lists them for 「クロネコヤマト配送」 (M3). Return [] when the shop has none.
        """
        return self._register("delivery_methods_loader", fn)

    def shipment_recorder(self, fn: F) -> F:
        """Register ``(order, carrier: str, tracking_no: str) -> None``.

        Contract: mark the order shipped in the host (carrier, 送り状番号, shipped status) for a
        B2 import (M17). Change the objects in ``db.session`` but do not commit: the extension
        commits the host change together with the payment change. Do not send
        ``order_status_changed`` from here; the extension captures the payment itself.
        """
        return self._register("shipment_recorder", fn)

    def order_restorer(self, fn: F) -> F:
        """Register ``(snapshot: dict, placed_at: datetime) -> order``.

        Contract: create a new host order from a 決済直前ログ snapshot (M23: Yamato has the
        transaction, the shop lost the order); ``snapshot`` is the JSON form of the OrderData
        (plus its ``snapshot`` extras), ``placed_at`` the order date to use (timezone-aware,
        Japan time: convert it to what your column stores). Add it to
        ``db.session`` and flush (it needs an id); do not commit.
        """
        return self._register("order_restorer", fn)

    def admin_guard(self, fn: F) -> F:
        """Register ``() -> None | Response``.

        Contract: called before every admin view; return None to allow the current user, or a
        Response (redirect to the login page, 403). Without a guard the admin is closed.
        """
        return self._register("admin_guard", fn)

    # ----------------------------------------------------------------- per-app access

    @property
    def state(self) -> KuronekoState:
        return current_state()

    @property
    def models(self) -> SimpleNamespace:
        """The model classes for the current app's db (or the db given to the constructor)."""
        if has_app_context() and EXTENSION_KEY in current_app.extensions:
            return current_state().models
        if self._db is not None:
            return define_models(self._db)
        raise ConfigurationError("kuroneko.models needs an app context of an app initialised "
                                 "with kuroneko.init_app(app, db).")

    @property
    def simulator(self) -> Any:
        """The in-process Simulator when the environment is "sandbox", else None."""
        return current_state().get_simulator()

    def client(self, *, timeout: float | None = None):
        """KuronekoClient for the current app (sandbox wired in-process)."""
        return current_state().client(timeout=timeout)

    def settings(self):
        """Effective settings for the current app."""
        return current_state().settings()

    # ----------------------------------------------------------------- schema

    def upgrade_db(self, revision: str = "head"):
        """Bring the kuroneko_* tables of the current app's database to ``revision`` (default:
        what this version needs): creates them on an empty database, adopts a 0.1.0 install.
        The same as ``flask kuroneko db upgrade``; returns a ``migrations.UpgradeResult``."""
        from . import migrations
        return migrations.upgrade(current_state().db.engine, revision)

    def schema_is_current(self) -> bool:
        """True when the kuroneko_* tables are at the revision this version needs (one query
        of the version table, then cached for the process)."""
        from . import migrations
        return migrations.is_current(current_state().db.engine)

    # ----------------------------------------------------------------- checkout API

    def available_methods(self, order_data: OrderData):
        """Active 支払方法 that may be offered for this cart, in checkout order (MethodOffer)."""
        return checkout_api.available_methods(current_state(), order_data)

    def fee_for(self, method_id: int, amount: int) -> int:
        """The 後払い fee for an order of ``amount`` yen (fee excluded) with this method."""
        return checkout_api.fee_for(current_state(), method_id, amount)

    def validate_order(self, order_data: OrderData, method_id: int,
                       form_data: Any = None) -> checkout_api.OrderCheck:
        """Japanese problems that would make Yamato refuse the order ([] = fine), with the item
        names as Yamato will receive them (``.item_names``). No HTTP call."""
        return checkout_api.validate_order(current_state(), order_data, method_id, form_data)

    def start_payment(self, order: Any, method_id: int, form_data: Any = None):
        """Authorize ``order`` (added and flushed by the host) -> PaymentOutcome."""
        return checkout_api.start_payment(current_state(), order, method_id, form_data)

    def payment_for(self, order_id: Any):
        """The Payment standing for the host order (M15: 決済ID, 決済状況), or None: the newest
        与信/売上確定 one, else the newest in progress, else the newest."""
        return checkout_api.payment_for(current_state(), order_id)

    def payments_for(self, order_ids: Any) -> dict[str, Any]:
        """``payment_for`` of many orders in one query: ``{str(order id): Payment}`` (orders
        without a payment are absent). Use it in an order list instead of one call per row."""
        return checkout_api.payments_for(current_state(), order_ids)

    def payment_state(self, payment: Any):
        """Where ``payment`` stands on both sides (a ``payments.PaymentState``: our status,
        Yamato's 取引状況 and 警報 with their times, 差異, 出荷期限, do-not-ship) — the 入金状況
        of your order list; no query. ``{{ kuroneko_payment_state(payment) }}`` renders it."""
        return payment_state(payment)

    def payment_panel(self, order_id: Any, *, back: str | None = None):
        """The 「決済情報」 of one of your orders as data (``admin.PaymentPanel``: payment,
        state, 利用金額 and your order's total, the buttons' URLs, history), or None. Most hosts
        render ``{{ kuroneko_payment_panel(order.id) }}`` in their order edit page instead."""
        return panel_for(order_id, back=back)

    def conversion_tag(self, order_id: Any):
        """M13 tag (Markup) for the completion page, once per order, after 与信."""
        return checkout_api.conversion_tag(current_state(), order_id)

    # ----------------------------------------------------------------- bulk jobs

    def start_bulk_ship(self, order_ids: Any, *, actor: str | None = None):
        """Bulk 「発送済み」 (M18): capture the payments of these host orders as a job (returns
        the Job; its page is ``url_for("kuroneko_admin.job", job_id=job.id)``). Set the orders'
        status yourself and do not send ``order_status_changed`` for them: each order is
        captured by the job — other carriers with 「他社配送オプション」, Yamato delivery with a
        送り状番号 — and every other one is skipped with the reason (docs/jobs.md)."""
        return jobs.start_bulk_ship(order_ids, actor=actor)

    def init_celery(self, celery_app: Any, *, app: Flask | None = None) -> None:
        """Run bulk jobs on the shop's Celery app (Flask's "Background Tasks with Celery"
        pattern: its tasks run in an app context; else pass ``app``). Registers the tasks
        ``flask_kuroneko.jobs.run_chunk`` and ``flask_kuroneko.jobs.resume_stalled``; new jobs
        of every app of this extension then go to Celery (unless KURONEKO_JOBS_RUNNER="worker").
        Call it in the web process and in the Celery worker (the same factory)."""
        celery_runner.register(celery_app, self, app)


def current_kuroneko() -> KuronekoState:
    """Alias of :func:`current_state`, kept for hosts written against 0.1.0."""
    return current_state()


# --------------------------------------------------------------------------- inbound signals

_connected = False
_connect_lock = threading.Lock()


def _connect_inbound_signals() -> None:
    """Connect the receivers once per process; each dispatches to the sending app only."""
    global _connected
    with _connect_lock:
        if _connected:
            return
        signals.order_status_changed.connect(_on_order_status_changed, weak=False)
        signals.order_updated.connect(_on_order_updated, weak=False)
        _connected = True


def _sending_app(sender: Any) -> Flask | None:
    if hasattr(sender, "_get_current_object"):   # the current_app proxy
        sender = sender._get_current_object()
    if isinstance(sender, Flask) and EXTENSION_KEY in sender.extensions:
        return sender
    return None


def _dispatch(reaction: Callable[..., None], sender: Any, order: Any, **kwargs: Any) -> None:
    app = _sending_app(sender)
    if app is None:
        return   # an app without kuroneko (or not an app): not ours to react to
    try:
        if has_app_context() and current_app._get_current_object() is app:
            reaction(app, order, **kwargs)
        else:
            with app.app_context():
                reaction(app, order, **kwargs)
    except Exception:  # a receiver never breaks the host's save (DESIGN "Host integration": inbound signals)
        logger.exception("kuroneko: reaction %s failed; the host's change is kept",
                         reaction.__name__)


def _on_order_status_changed(sender: Any, *, order: Any, old: Any = None, new: Any = None,
                             **extra: Any) -> None:
    _dispatch(reactions.on_order_status_changed, sender, order, old=old, new=new, **extra)


def _on_order_updated(sender: Any, *, order: Any, **extra: Any) -> None:
    _dispatch(reactions.on_order_updated, sender, order, **extra)
