"""The ``Kuroneko`` extension object: init_app, host hooks, per-app state, inbound signals.

Flask extension conventions: the app is never stored on the extension; everything that belongs
to one app lives in ``app.extensions["kuroneko"]`` (a :class:`KuronekoState`), so one
``Kuroneko`` object can serve several apps with different configuration. Host hooks are
registered once on the extension (Flask-Login's ``user_loader`` style) and shared by its apps.

Checkout API methods delegate to ``checkout_api.py``; payment changes go to ``service.py``.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from types import SimpleNamespace
from typing import Any, Callable, TypeVar

from flask import Flask, current_app, has_app_context

from . import config, signals
from .errors import ConfigurationError
from .models import define_models
from .orderdata import OrderData

logger = logging.getLogger(__name__)

EXTENSION_KEY = "kuroneko"
F = TypeVar("F", bound=Callable[..., Any])

#: Hook name -> the contract quoted in the error raised when the hook is missing.
HOOK_CONTRACTS = {
    "order_loader": "(order_id: str) -> the host order, or None for an unknown id (never raise)",
    "order_describer": "(order) -> flask_kuroneko.OrderData describing the host order",
    "delivery_methods_loader": "() -> list of (id, name) of the shop's delivery methods "
                               "(配送方法); return [] when the shop has none",
    "shipment_recorder": "(order, carrier: str, tracking_no: str) -> None; mark the order "
                         "shipped in the host (B2 import); add to db.session, do not commit",
    "order_restorer": "(snapshot: dict, placed_at: datetime) -> a new host order recreated "
                      "from a 決済直前ログ snapshot; add to db.session and flush, do not commit",
    "admin_guard": "() -> None when the current user may use the admin, else a Response "
                   "(login redirect or 403)",
}


def _missing_hook(name: str) -> ConfigurationError:
    return ConfigurationError(
        f"No function is registered with @kuroneko.{name}. Decorate one in your app factory: "
        f"@kuroneko.{name} {HOOK_CONTRACTS[name]}. See docs/integration.md.")


class KuronekoState:
    """What ``init_app`` keeps for one app (``app.extensions["kuroneko"]``).

    The service, views and CLI reach everything app-specific through this object: models,
    settings, the Yamato client, the sandbox simulator and the host hooks.
    """

    def __init__(self, extension: "Kuroneko", app: Flask, db: Any):
        self.extension = extension
        self.db = db
        self.models: SimpleNamespace = define_models(db)
        self.app_name = app.name
        self._simulator: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<KuronekoState app={self.app_name!r}>"

    # ----------------------------------------------------------------- config and settings

    def config(self, name: str) -> Any:
        """Strict accessor of ``KURONEKO_<name>`` for the current app."""
        return config.get(name)

    def settings(self):
        """Effective settings (DB row overridden by app.config)."""
        from .settings import effective_settings
        return effective_settings()

    # ----------------------------------------------------------------- Yamato client

    def environment(self) -> str:
        return self.settings().environment

    def get_simulator(self, *, create: bool = True) -> Any:
        """The app's in-process Simulator (sandbox mode without KURONEKO_SANDBOX_URL), else None."""
        if self.environment() != "sandbox" or config.get("SANDBOX_URL"):
            return None
        if self._simulator is None and create:
            with self._lock:
                if self._simulator is None:
                    self._simulator = self._make_simulator()
        return self._simulator

    def use_simulator(self, simulator: Any) -> None:
        """Serve this app's sandbox from ``simulator`` (tests, demos sharing one simulator)."""
        with self._lock:
            self._simulator = simulator

    def _make_simulator(self) -> Any:
        from . import sandbox
        state_path = config.get("SANDBOX_STATE")
        if state_path:
            logger.info("sandbox: in-process simulator with shared state %s", state_path)
            return sandbox.Simulator(store=sandbox.SqliteStore(state_path))
        logger.info("sandbox: in-process simulator (memory)")
        return sandbox.Simulator()

    def client(self, *, timeout: float | None = None):
        """A KuronekoClient for the current app's effective settings.

        sandbox: the in-process simulator (or KURONEKO_SANDBOX_URL over HTTP); merchant code
        and password default to the simulator's default merchant when not configured.
        """
        from .yamato.client import KuronekoClient
        current = self.settings()
        timeout = float(timeout if timeout is not None else config.get("TIMEOUT"))
        cart_code = config.get("CART_CODE")
        if current.environment == "sandbox":
            code = current.merchant_code or SANDBOX_MERCHANT_CODE
            password = current.password or SANDBOX_PASSWORD
            url = config.get("SANDBOX_URL")
            if url:
                return KuronekoClient(code, password, environment="sandbox", base_url=url,
                                      timeout=timeout, cart_code=cart_code)
            from .sandbox import sandbox_session
            simulator = self.get_simulator()
            _ensure_sandbox_merchant(simulator, code, password)
            return KuronekoClient(code, password, environment="sandbox",
                                  session=sandbox_session(simulator), timeout=timeout,
                                  cart_code=cart_code)
        if not current.has_credentials:
            raise ConfigurationError(
                f"The merchant code and password are not set for the {current.environment} "
                "environment: enter 加盟店コード and パスワード in the admin settings or set "
                "KURONEKO_MERCHANT_CODE and KURONEKO_PASSWORD.")
        return KuronekoClient(current.merchant_code, current.password,
                              environment=current.environment, timeout=timeout,
                              cart_code=cart_code)

    def status_client(self):
        """A client with the shorter KURONEKO_STATUS_TIMEOUT, for state inquiries."""
        return self.client(timeout=config.get("STATUS_TIMEOUT"))

    # ----------------------------------------------------------------- host hooks

    def hook(self, name: str) -> Callable[..., Any]:
        fn = self.extension._hooks.get(name)
        if fn is None:
            raise _missing_hook(name)
        return fn

    def load_order(self, order_id: Any) -> Any:
        """The host order for ``order_id`` (None when unknown)."""
        return self.hook("order_loader")(str(order_id))

    def describe(self, order: Any) -> OrderData:
        data = self.hook("order_describer")(order)
        if not isinstance(data, OrderData):
            raise ConfigurationError(
                f"@kuroneko.order_describer returned {type(data).__name__}; it must return a "
                "flask_kuroneko.OrderData describing the order.")
        return data

    def delivery_methods(self) -> list[tuple[str, str]]:
        methods = self.hook("delivery_methods_loader")()
        try:
            return [(str(i), str(n)) for i, n in methods]
        except (TypeError, ValueError):
            raise ConfigurationError(
                "@kuroneko.delivery_methods_loader must return a list of (id, name) pairs.") from None

    def record_shipment(self, order: Any, carrier: str, tracking_no: str) -> None:
        self.hook("shipment_recorder")(order, carrier, tracking_no)

    def restore_order(self, snapshot: dict, placed_at: Any) -> Any:
        order = self.hook("order_restorer")(snapshot, placed_at)
        if order is None:
            raise ConfigurationError("@kuroneko.order_restorer returned None; it must return the "
                                     "new host order.")
        return order

    def check_admin(self) -> Any:
        """None when the admin may be used; else a Response. Closed without @admin_guard."""
        guard = self.extension._hooks.get("admin_guard")
        if guard is None:
            logger.error("admin blueprint closed: %s", _missing_hook("admin_guard"))
            return current_app.response_class(
                "管理画面は閉じています。アプリケーションで @kuroneko.admin_guard を登録してください。",
                status=403, mimetype="text/plain")
        return guard()

    # ----------------------------------------------------------------- M14

    def insecure_checkout(self, request: Any) -> bool:
        """True when a checkout page is served over plain HTTP in production (SSL 必須)."""
        if self.environment() != "production" or request.is_secure:
            return False
        if config.get("BEHIND_TLS_PROXY"):
            return request.headers.get("X-Forwarded-Proto", "").lower() != "https"
        return True


SANDBOX_MERCHANT_CODE = "12345678901"
SANDBOX_PASSWORD = "testpass"


def _ensure_sandbox_merchant(simulator: Any, code: str, password: str) -> None:
    """Let a sandbox shop use its own (fake) merchant code: register it on first use."""
    if simulator.merchant(code) is None:
        logger.info("sandbox: registering merchant %s for this shop", code)
        simulator.configure_merchant(code, password=password)


class Kuroneko:
    """Yamato クロネコ代金後払いサービス for a Flask app.

    ``Kuroneko(app, db)`` or ``kuroneko = Kuroneko()`` + ``kuroneko.init_app(app, db)`` where
    ``db`` is the host's ``flask_sqlalchemy.SQLAlchemy`` (the kuroneko_* tables are used
    through its session and engine, but created only by the extension's own migrations:
    ``flask kuroneko db upgrade`` or :meth:`upgrade_db`).
    """

    def __init__(self, app: Flask | None = None, db: Any = None):
        self._db = db
        self._hooks: dict[str, Callable[..., Any]] = {}
        if app is not None:
            self.init_app(app, db)

    def __repr__(self) -> str:
        return f"<Kuroneko hooks={sorted(self._hooks)}>"

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
        from .settings import validate_overrides
        validate_overrides(app)
        state = KuronekoState(self, app, db)
        app.extensions[EXTENSION_KEY] = state
        self._register_blueprints(app)
        from .cli import kuroneko_cli
        app.cli.add_command(kuroneko_cli)
        _connect_inbound_signals()
        logger.debug("kuroneko initialised on app %s", app.name)

    def _register_blueprints(self, app: Flask) -> None:
        for module_name, enabled_key, prefix_key in (
                ("flask_kuroneko.checkout", "CHECKOUT_ENABLED", "CHECKOUT_URL_PREFIX"),
                ("flask_kuroneko.admin", "ADMIN_ENABLED", "ADMIN_URL_PREFIX")):
            if not config.get(enabled_key, app):
                continue
            if importlib.util.find_spec(module_name) is None:
                logger.debug("%s not installed yet: blueprint not registered", module_name)
                continue
            module = importlib.import_module(module_name)
            app.register_blueprint(module.create_blueprint(),
                                   url_prefix=config.get(prefix_key, app))

    # ----------------------------------------------------------------- hooks (decorators)

    def _register(self, name: str, fn: F) -> F:
        if not callable(fn):
            raise ConfigurationError(f"@kuroneko.{name} must decorate a function.")
        self._hooks[name] = fn
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
        (plus its ``snapshot`` extras), ``placed_at`` the order date to use. Add it to
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
        from . import checkout_api
        return checkout_api.available_methods(current_state(), order_data)

    def fee_for(self, method_id: int, amount: int) -> int:
        """The 後払い fee for an order of ``amount`` yen (fee excluded) with this method."""
        from . import checkout_api
        return checkout_api.fee_for(current_state(), method_id, amount)

    def validate_order(self, order_data: OrderData, method_id: int,
                       form_data: Any = None) -> list[str]:
        """Japanese problems that would make Yamato refuse the order ([] = fine). No HTTP call."""
        from . import checkout_api
        return checkout_api.validate_order(current_state(), order_data, method_id, form_data)

    def start_payment(self, order: Any, method_id: int, form_data: Any = None):
        """Authorize ``order`` (added and flushed by the host) -> PaymentOutcome."""
        from . import checkout_api
        return checkout_api.start_payment(current_state(), order, method_id, form_data)

    def payment_for(self, order_id: Any):
        """The Payment standing for the host order (M15: 決済ID, 決済状況), or None: the newest
        与信/売上確定 one, else the newest in progress, else the newest."""
        from . import checkout_api
        return checkout_api.payment_for(current_state(), order_id)

    def conversion_tag(self, order_id: Any):
        """M13 tag (Markup) for the completion page, once per order, after 与信."""
        from . import checkout_api
        return checkout_api.conversion_tag(current_state(), order_id)


def current_state(app: Flask | None = None) -> KuronekoState:
    """The KuronekoState of ``app`` (default: the current app)."""
    app = app if app is not None else current_app
    try:
        return app.extensions[EXTENSION_KEY]
    except KeyError:
        raise ConfigurationError(
            f"Kuroneko is not initialised on the app {app.name!r}: call kuroneko.init_app(app, db) "
            "in the app factory.") from None


def current_kuroneko() -> KuronekoState:
    """Alias of :func:`current_state` (the name the service layer uses)."""
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


def _dispatch(reaction_name: str, sender: Any, order: Any, **kwargs: Any) -> None:
    app = _sending_app(sender)
    if app is None:
        return   # an app without kuroneko (or not an app): not ours to react to
    if importlib.util.find_spec("flask_kuroneko.reactions") is None:
        logger.warning("inbound signal ignored: flask_kuroneko.reactions is not installed")
        return
    reactions = importlib.import_module("flask_kuroneko.reactions")
    try:
        if has_app_context() and current_app._get_current_object() is app:
            getattr(reactions, reaction_name)(app, order, **kwargs)
        else:
            with app.app_context():
                getattr(reactions, reaction_name)(app, order, **kwargs)
    except Exception:  # a receiver never breaks the host's save (DESIGN "Inbound signals")
        logger.exception("kuroneko: reaction %s failed; the host's change is kept", reaction_name)


def _on_order_status_changed(sender: Any, *, order: Any, old: Any = None, new: Any = None,
                             **extra: Any) -> None:
    _dispatch("on_order_status_changed", sender, order, old=old, new=new, **extra)


def _on_order_updated(sender: Any, *, order: Any, **extra: Any) -> None:
    _dispatch("on_order_updated", sender, order, **extra)
