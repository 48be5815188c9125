"""Example shop: a small real Flask shop that takes Yamato's クロネコ代金後払い through
flask_kuroneko's public API, next to an ordinary 銀行振込. The reference for other shops.

Run: ``flask --app example_shop run`` (SQLite in the instance folder, sandbox Yamato,
demo data on first run).

Start-up never reads the kuroneko_* tables before they are known to be current: the demo
brings them to the needed revision itself (``SHOP_UPGRADE_ON_START``, a convenience of a
one-process SQLite demo); a real shop turns that off and runs ``flask kuroneko db upgrade``
in its deploy, after its own migrations (docs/integration.md).
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, request
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_kuroneko import KuronekoError
from flask_kuroneko.web import csp_nonce, install_id_converter, protect, refuse_control_characters

from .extensions import db, kuroneko

logger = logging.getLogger(__name__)

__all__ = ["create_app", "db", "kuroneko"]


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=None,
        SHOP_NAME="クロネコ雑貨店",
        SHOP_MAIL_FROM="shop@example.com",
        SHOP_SMTP_HOST=None,
        SHOP_SMTP_PORT=25,
        SHOP_ADMIN_PASSWORD="admin",
        SHOP_LOGIN_LIMIT=5,              # failed admin logins per address ...
        SHOP_LOGIN_LIMIT_MINUTES=5,      # ... within this many minutes
        # Request size: the largest form of the shop is a few kB (SECURITY.md).
        MAX_CONTENT_LENGTH=1024 * 1024,
        MAX_FORM_MEMORY_SIZE=256 * 1024,
        # A database error must not print the order (name, address, phone) into the logs.
        SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": True},
        SHOP_DEMO_DATA=True,
        SHOP_UPGRADE_ON_START=True,      # demo: kuroneko tables to head at start (see above)
        SHOP_SANDBOX_MOUNT="/_sandbox",
        SHOP_SHARED_SANDBOX=True,        # sandbox state in the instance folder (web + worker)
        KURONEKO_ENVIRONMENT="sandbox",
        KURONEKO_MERCHANT_CODE="12345678901",
        KURONEKO_PASSWORD="testpass",
        KURONEKO_SHIPPED_STATUSES=("発送済み",),
        KURONEKO_CANCELLED_STATUSES=("キャンセル",),
        KURONEKO_CHECKOUT_SUCCESS_ENDPOINT="shop.complete",
        KURONEKO_CHECKOUT_FAILURE_ENDPOINT="shop.payment_error",
        KURONEKO_BASE_TEMPLATE="base.html",
        KURONEKO_NOTIFY_SECRET=None,
    )
    app.config.from_prefixed_env("SHOP")   # e.g. SHOP_SQLALCHEMY_DATABASE_URI, SHOP_SECRET_KEY
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = \
            f"sqlite:///{Path(app.instance_path) / 'example_shop.sqlite'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    if (app.config["SHOP_SHARED_SANDBOX"] and app.config.get("SHOP_SIMULATOR") is None
            and app.config["KURONEKO_ENVIRONMENT"] == "sandbox"
            and not app.config.get("KURONEKO_SANDBOX_URL")
            and not app.config.get("KURONEKO_SANDBOX_STATE")):
        # The web process and `flask kuroneko worker` (the sweep) must see the same
        # simulated Yamato: keep its state in a file next to the shop's database.
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["KURONEKO_SANDBOX_STATE"] = str(Path(app.instance_path) / "sandbox.sqlite")
    _check_deployment(app)
    app.extensions["example_shop"] = True

    db.init_app(app)
    _sqlite_in_wal_mode(app)
    install_id_converter(app)        # <kuroneko_id:…> in the shop's own routes
    kuroneko.init_app(app, db)

    from . import admin, bulk, commands, hooks, orders, views  # noqa: F401  (hooks registers itself)
    app.jinja_env.filters["jst"] = hooks.to_jst
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    _harden(app)
    commands.register(app)
    orders.connect_signals()

    if app.config.get("KURONEKO_BEHIND_TLS_PROXY"):
        # x_for: the login limit counts failures per client address, not per proxy.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    with app.app_context():
        if app.config.get("SHOP_SIMULATOR") is not None:
            # Tests and demos that drive the sandbox directly share their Simulator.
            app.extensions["kuroneko"].use_simulator(app.config["SHOP_SIMULATOR"])
        db.create_all()        # the shop's own tables; the kuroneko_* ones are the migrations'
        if app.config["SHOP_UPGRADE_ON_START"]:
            _upgrade_kuroneko_tables()
        if app.config["SHOP_DEMO_DATA"]:
            _seed_demo_data()
    _mount_sandbox(app)
    return app


def _sqlite_in_wal_mode(app: Flask) -> None:
    """On SQLite, write-ahead logging: the web process and `flask kuroneko worker` read while
    the other writes, and a commit costs one sync of the log instead of the rollback journal's
    several (``synchronous`` stays FULL: a commit survives a power cut). The mode is stored in
    the database file, so every process gets it (docs/integration.md recommends it)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _wal(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")


#: Pages with personal data or checkout state: never stored by a browser or proxy cache.
NO_STORE_PREFIXES = ("/cart", "/checkout", "/admin", "/kuroneko")


def _harden(app: Flask) -> None:
    """The extension's protections on the shop's own pages too (SECURITY.md): control
    characters refused, CSP with a nonce, no framing, no caching of personal pages."""
    app.before_request(refuse_control_characters)
    app.context_processor(lambda: {"kuroneko_csp_nonce": csp_nonce})

    @app.after_request
    def _protect(response):
        return protect(response, no_store=request.path.startswith(NO_STORE_PREFIXES))


def _upgrade_kuroneko_tables() -> None:
    """A schema the migrations cannot recognise must not stop the shop from starting: the
    kuroneko admin and worker then say what to do, and `flask kuroneko db current` works."""
    try:
        result = kuroneko.upgrade_db()
    except KuronekoError:
        logger.exception("kuroneko tables not upgraded; see `flask kuroneko db current`")
        return
    if result.before != result.after:
        logger.info("kuroneko tables upgraded: %s", result)


def _seed_demo_data() -> None:
    if not kuroneko.schema_is_current():
        logger.warning("demo data not created: the kuroneko tables are out of date "
                       "(run `flask --app example_shop kuroneko db upgrade`)")
        return
    from .demo import seed
    seed()


def _check_deployment(app: Flask) -> None:
    """Outside the sandbox the demo talks to Yamato: no default admin password, and the
    session cookie (cart, checkout token, SMS page binding) only travels over HTTPS (M14)."""
    if app.config["KURONEKO_ENVIRONMENT"] == "sandbox":
        return
    if app.config["SHOP_ADMIN_PASSWORD"] == "admin":
        raise RuntimeError("The example shop refuses to run against Yamato "
                           f"({app.config['KURONEKO_ENVIRONMENT']}) with the default admin "
                           "password: set SHOP_SHOP_ADMIN_PASSWORD in the environment.")
    if app.config["KURONEKO_ENVIRONMENT"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def _secret_key(app: Flask) -> str:
    """A random key kept in the instance folder, so sessions survive restarts of the demo."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def _mount_sandbox(app: Flask) -> None:
    """In sandbox mode, serve the simulator's pages (SMS outbox) under /_sandbox so a demo
    user can read the SMS code the "phone" received. Decided from the configuration only:
    the simulator is looked up per request, never at start-up (it depends on the settings
    row, which must not be read before the schema is known to be current)."""
    mount = app.config.get("SHOP_SANDBOX_MOUNT")
    if (not mount or app.config["KURONEKO_ENVIRONMENT"] != "sandbox"
            or app.config.get("KURONEKO_SANDBOX_URL")):
        return
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {mount: _SandboxPages(app)})
    app.config["SHOP_SANDBOX_OUTBOX_URL"] = f"{mount}/_sim/ui#sms-outbox"


class _SandboxPages:
    """WSGI app: the simulator's own pages for the app's current in-process simulator."""

    def __init__(self, app: Flask):
        self.app = app
        self.served: tuple[Any, Any] | None = None      # (simulator, its sandbox WSGI app)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self.app.app_context():
            simulator = kuroneko.simulator
        if simulator is None:
            return NotFound()(environ, start_response)
        served = self.served
        if served is None or served[0] is not simulator:
            from flask_kuroneko.sandbox import create_app as create_sandbox_app
            served = self.served = (simulator, create_sandbox_app(simulator=simulator))
        return served[1](environ, start_response)
