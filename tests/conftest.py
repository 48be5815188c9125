"""Layered fixtures: sandbox (wire) -> api_client -> app/db/client (extension, example shop).

Sections are owned by different work streams; keep each section's fixtures together.
"""
from __future__ import annotations

import os

import pytest

# The test kit host shops use (docs/integration.md, 'Testing your shop'): our hosts use it too.
pytest_plugins = ["flask_kuroneko.testing.plugin"]

# --------------------------------------------------------------------------- wire: sandbox


@pytest.fixture
def simulator():
    """A fresh in-memory Yamato simulator (default merchant 12345678901 / testpass)."""
    from flask_kuroneko.sandbox import Simulator
    return Simulator()


@pytest.fixture
def sandbox_session(simulator):
    """A requests.Session whose sandbox base URL is served in-process by ``simulator``."""
    from flask_kuroneko.sandbox import sandbox_session as make_session
    return make_session(simulator)


@pytest.fixture
def api_client(sandbox_session):
    """The real client, over the real requests transport, talking to the in-process sandbox."""
    from flask_kuroneko.yamato.client import KuronekoClient
    return KuronekoClient("12345678901", "testpass", environment="sandbox",
                          session=sandbox_session, timeout=5)


# --------------------------------------------------------------------------- databases
# KURONEKO_TEST_DATABASE_URL picks the server: "sqlite" (default), or a PostgreSQL / MariaDB URL.
# On a server each pytest run gets its own throw-away database, so parallel runs (several
# developers, CI) never see each other's tables.


def _server_url() -> str | None:
    url = os.environ.get("KURONEKO_TEST_DATABASE_URL", "sqlite")
    return None if url == "sqlite" else url


@pytest.fixture(scope="session")
def _server_database():
    base = _server_url()
    if base is None:
        yield None
        return
    import secrets

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"kuroneko_t{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if url.get_backend_name() == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def database_url(_server_database, tmp_path) -> str:
    """URL for this test: a fresh SQLite file, or this run's private server database (the
    caller creates and drops its tables)."""
    return _server_database or f"sqlite:///{tmp_path / 'test.sqlite'}"


# --------------------------------------------------------------------------- extension core


@pytest.fixture
def app_config() -> dict:
    """Extra app.config for the ``app`` fixture; override this fixture in a test module."""
    return {}


@pytest.fixture
def app(database_url, simulator, app_config):
    """The minimal host shop of tests/hosts/simple_shop.py with the extension initialised,
    tables created (the shop's by create_all, ours by the migrations; all dropped afterwards),
    the sandbox served in-process by ``simulator``."""
    from hosts import simple_shop
    from schema_support import create_tables, drop_tables

    application = simple_shop.create_app(database_url, **app_config)
    with application.app_context():
        create_tables(simple_shop.db)
        application.extensions["kuroneko"].use_simulator(simulator)
    yield application
    with application.app_context():
        drop_tables(simple_shop.db)


@pytest.fixture
def db(app):
    """The host's Flask-SQLAlchemy object, inside an app context of ``app``."""
    from hosts import simple_shop
    with app.app_context():
        yield simple_shop.db


@pytest.fixture
def client(app):
    """Flask test client of ``app``."""
    return app.test_client()


@pytest.fixture
def kuroneko(db):
    """The host's Kuroneko object (hooks registered), used inside an app context."""
    from hosts import simple_shop
    return simple_shop.kuroneko


@pytest.fixture
def process_shop(database_url, tmp_path):
    """The host app of a test that runs other processes (CLI commands, a crashing shop
    process): no in-process simulator object of its own — the sandbox state lives in a SQLite
    file the processes share. Yields (app, state_file) inside an app context."""
    from hosts import simple_shop
    from schema_support import create_tables, drop_tables
    state_file = str(tmp_path / "sandbox-state.sqlite")
    application = simple_shop.create_app(database_url, KURONEKO_SANDBOX_STATE=state_file)
    with application.app_context():
        create_tables(simple_shop.db)
        yield application, state_file
        drop_tables(simple_shop.db)


# --------------------------------------------------------------------------- service tests
# Shared by the service, sms, timeout, sweep, reaction and concurrency tests (a module may
# override any of them with its own fixture of the same name).


@pytest.fixture
def shop(kuroneko):
    """The test host set up for payments: methods, delivery methods, settings."""
    from service_support import setup_shop
    return setup_shop()


@pytest.fixture
def calls(simulator, monkeypatch):
    """Counts the Yamato calls the sandbox receives, per operation."""
    from service_support import CallCounter
    return CallCounter(simulator, monkeypatch)


@pytest.fixture
def received(app):
    """Outbound signals received during the test: list of (name, kwargs)."""
    from flask_kuroneko import signals
    got = []
    handlers = []
    for sig in signals.OUTBOUND:
        def handler(sender, _name=sig.name, **kw):
            got.append((_name.split(".")[-1], kw))
        sig.connect(handler, sender=app, weak=False)
        handlers.append((sig, handler))
    yield got
    for sig, handler in handlers:
        sig.disconnect(handler, sender=app)


# --------------------------------------------------------------------------- hardening summary
# One line per area (bad inputs tried and 500s, security checks passed) at the end of the run
# and in test-artifacts/summary/ for .ci/run. Tests of the `security` marker are counted here.

_security_results = {"passed": 0, "failed": 0}


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    if "security" not in report.keywords or report.skipped:
        return
    _security_results["passed" if report.passed else "failed"] += 1


def pytest_terminal_summary(terminalreporter):
    import summary
    if sum(_security_results.values()):
        summary.record_checks("security checks", **_security_results)
    if summary.LINES:
        terminalreporter.section("hardening summary")
        for line in summary.LINES.values():
            terminalreporter.write_line(line)
