"""``KuronekoState``: what ``init_app`` keeps for one app (``app.extensions["kuroneko"]``).

The payments pipeline, the blueprints and the CLI reach everything app-specific through this
object (found with ``state.current_state()``): the models, the settings in force, the Yamato
client, the sandbox simulator and the host hooks. Two things are kept here so that a checkout
does not pay for them on every call:

- the settings are read once per request (the admin's save forgets them, see
  ``settings.save_settings``); outside a request (CLI, worker) every call reads the row, so a
  long-running worker sees a change at its next step;
- one pooled ``requests.Session`` per app carries every Yamato call (keep-alive to Yamato's
  host), shared by threads (urllib3's pool is thread-safe; the session's own state is not
  changed after creation).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Iterator

import requests
from flask import Flask, current_app, g, has_app_context, has_request_context, request

from . import config
from .errors import ConfigurationError
from .hooks import missing_hook
from .models import define_models
from .orderdata import OrderData
from .settings import EffectiveSettings, effective_settings
from .yamato.client import KuronekoClient

if TYPE_CHECKING:
    from .sandbox import Simulator

logger = logging.getLogger(__name__)

SANDBOX_MERCHANT_CODE = "12345678901"
SANDBOX_PASSWORD = "testpass"
_SETTINGS_KEY = "_kuroneko_settings"
_HELD_KEY = "_kuroneko_held_settings"


class KuronekoState:
    """Per-app state; see the module docstring."""

    def __init__(self, extension: Any, app: Flask, db: Any):
        self.extension = extension
        #: The extension's hook registry (shared by every app of one ``Kuroneko``).
        self.hooks: dict[str, Callable[..., Any]] = extension.registered_hooks
        self.db = db
        self.models: SimpleNamespace = define_models(db)
        self.app_name = app.name
        self._simulator: Any = None
        self._sandbox_http: requests.Session | None = None
        self._http: requests.Session | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<KuronekoState app={self.app_name!r}>"

    # ----------------------------------------------------------------- config and settings

    def settings(self) -> EffectiveSettings:
        """The settings in force: read once per request (or per unit of work that holds them,
        see :meth:`holding_settings`), on every call elsewhere."""
        if not has_request_context():
            held = g.get(_HELD_KEY) if has_app_context() else None
            return held if held is not None else effective_settings()
        cached = g.get(_SETTINGS_KEY)
        current_request = request._get_current_object()
        if cached is not None and cached[0] is current_request:
            return cached[1]
        value = effective_settings()
        setattr(g, _SETTINGS_KEY, (current_request, value))
        return value

    @contextmanager
    def holding_settings(self) -> Iterator[EffectiveSettings]:
        """Read the settings once for a unit of work outside a request (one job item: its
        checks, its Yamato call and its record see the same settings, read once)."""
        value = effective_settings()
        setattr(g, _HELD_KEY, value)
        try:
            yield value
        finally:
            g.pop(_HELD_KEY, None)

    def forget_settings(self) -> None:
        """Drop the settings read in this request (they were just saved)."""
        if has_request_context():
            g.pop(_SETTINGS_KEY, None)

    def environment(self) -> str:
        return self.settings().environment

    # ----------------------------------------------------------------- sandbox

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
            self._sandbox_http = None

    def _make_simulator(self) -> "Simulator":
        from . import sandbox
        state_path = config.get("SANDBOX_STATE")
        if state_path:
            logger.info("sandbox: in-process simulator with shared state %s", state_path)
            return sandbox.Simulator(store=sandbox.SqliteStore(state_path))
        logger.info("sandbox: in-process simulator (memory)")
        return sandbox.Simulator()

    def _sandbox_session(self, simulator: Any) -> requests.Session:
        from .sandbox import sandbox_session
        with self._lock:
            if self._sandbox_http is None:
                self._sandbox_http = sandbox_session(simulator)
            return self._sandbox_http

    def _pooled_session(self) -> requests.Session:
        with self._lock:
            if self._http is None:
                self._http = requests.Session()
            return self._http

    # ----------------------------------------------------------------- Yamato client

    def client(self, *, timeout: float | None = None) -> KuronekoClient:
        """A KuronekoClient for the current settings, on the app's pooled HTTP session.

        sandbox: the in-process simulator (or KURONEKO_SANDBOX_URL over HTTP); merchant code
        and password default to the simulator's default merchant when not configured.
        """
        current = self.settings()
        timeout = float(timeout if timeout is not None else config.get("TIMEOUT"))
        cart_code = config.get("CART_CODE")
        if current.environment == "sandbox":
            code = current.merchant_code or SANDBOX_MERCHANT_CODE
            password = current.password or SANDBOX_PASSWORD
            url = config.get("SANDBOX_URL")
            if url:
                return KuronekoClient(code, password, environment="sandbox", base_url=url,
                                      timeout=timeout, cart_code=cart_code,
                                      session=self._pooled_session())
            simulator = self.get_simulator()
            _ensure_sandbox_merchant(simulator, code, password)
            return KuronekoClient(code, password, environment="sandbox",
                                  session=self._sandbox_session(simulator), timeout=timeout,
                                  cart_code=cart_code)
        if not current.has_credentials:
            raise ConfigurationError(
                f"The merchant code and password are not set for the {current.environment} "
                "environment: enter 加盟店コード and パスワード in the admin settings or set "
                "KURONEKO_MERCHANT_CODE and KURONEKO_PASSWORD.")
        return KuronekoClient(current.merchant_code, current.password,
                              environment=current.environment, timeout=timeout,
                              cart_code=cart_code, session=self._pooled_session())

    def status_client(self) -> KuronekoClient:
        """A client with the shorter KURONEKO_STATUS_TIMEOUT, for state inquiries."""
        return self.client(timeout=config.get("STATUS_TIMEOUT"))

    @property
    def celery_app(self) -> Any:
        """The shop's Celery app given to ``kuroneko.init_celery`` (None: jobs run on the
        embedded worker)."""
        return getattr(self.extension, "celery_app", None)

    # ----------------------------------------------------------------- host hooks

    def hook(self, name: str) -> Callable[..., Any]:
        fn = self.hooks.get(name)
        if fn is None:
            raise missing_hook(name)
        return fn

    def has_hook(self, name: str) -> bool:
        return name in self.hooks

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
        guard = self.hooks.get("admin_guard")
        if guard is None:
            logger.error("admin blueprint closed: %s", missing_hook("admin_guard"))
            return current_app.response_class(
                "管理画面は閉じています。アプリケーションで @kuroneko.admin_guard を登録してください。",
                status=403, mimetype="text/plain")
        return guard()

    # ----------------------------------------------------------------- M14

    def insecure_checkout(self, req: Any) -> bool:
        """True when a checkout page is served over plain HTTP in production (SSL 必須)."""
        if self.environment() != "production" or req.is_secure:
            return False
        if config.get("BEHIND_TLS_PROXY"):
            return req.headers.get("X-Forwarded-Proto", "").lower() != "https"
        return True


def _ensure_sandbox_merchant(simulator: Any, code: str, password: str) -> None:
    """Let a sandbox shop use its own (fake) merchant code: register it on first use."""
    if simulator.merchant(code) is None:
        logger.info("sandbox: registering merchant %s for this shop", code)
        simulator.configure_merchant(code, password=password)
