"""Start-up on an old schema (issue 12, item 5): the example shop starts far enough to run the
upgrade, never reads the kuroneko_* tables before the schema is known to be current, and its
create_all never makes them behind the migrations' back."""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from flask_kuroneko import migrations
from flask_kuroneko.migrations import revisions
from flask_kuroneko.models import metadata
from migration_support import create_0_1_0_tables, drop_everything
from schema_support import drop_tables
from test_admin_support import PREFIX

SHOP_TABLES = {"shop_products", "shop_orders", "shop_order_items", "shop_mail_outbox"}


@pytest.fixture
def url(database_url):
    drop_everything(database_url)
    yield database_url
    drop_everything(database_url)


@contextmanager
def statements():
    """Every SQL statement any engine sends while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *rest):
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


OUR_TABLES = re.compile(r"\b(%s)\b" % "|".join(sorted(metadata.tables)))


def kuroneko_reads(seen: list[str]) -> list[str]:
    """Statements naming one of our tables (the version table is not one of them)."""
    return [s for s in seen if OUR_TABLES.search(s)]


def shop(url, simulator, **config):
    from example_shop import create_app
    return create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url,
                       "SHOP_SIMULATOR": simulator, **config})


def admin_client(app):
    """A test client logged in to the shop's admin (the extension's admin asks it first)."""
    from example_shop.testing import ShopDriver
    driver = ShopDriver(app.test_client())
    response = driver.post_form("/admin/login", "/admin/login", {"password": "admin"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return driver.client


def close(app):
    from example_shop import db
    with app.app_context():
        drop_tables(db)


def table_names(url) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_create_all_of_the_shop_never_creates_kuroneko_tables(url, simulator):
    app = shop(url, simulator, SHOP_UPGRADE_ON_START=False, SHOP_DEMO_DATA=False)
    try:
        assert SHOP_TABLES <= table_names(url)
        assert not [t for t in table_names(url) if t.startswith("kuroneko_")]
    finally:
        close(app)


def settings_row_at_the_baseline(url: str) -> None:
    engine = sa.create_engine(url)
    migrations.upgrade(engine, revisions.BASELINE)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO kuroneko_settings (id, merchant_code, password, "
                             "environment, yamato_delivery_method_ids, other_carrier_enabled, "
                             "smartphone_enabled, ship_within_days, fee_mode, fee_tiers, "
                             "credit_limit, cancel_with_order, change_amount_with_order, "
                             "prepayment_log_enabled, conversion_tag, conversion_on_review, "
                             "updated_at, version) VALUES (1, '12345678901', 'pw', 'sandbox', "
                             "'[]', false, false, 10, 'fixed', '[]', 44000, false, false, true, "
                             "'', false, '2025-01-01 00:00:00', 1)"))
    engine.dispose()


def test_the_shop_starts_when_the_models_are_ahead_of_the_database(url, simulator):
    """The issue's case: a revision added a settings column the database does not have yet
    (simulated by removing one from a database at the previous revision). Reading the
    settings at start-up (the sandbox mount did) would fail; nothing of ours is read, the
    shop serves its pages and the admin names the command."""
    settings_row_at_the_baseline(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE kuroneko_settings DROP COLUMN conversion_on_review"))
    engine.dispose()
    with statements() as seen:
        app = shop(url, simulator, SHOP_UPGRADE_ON_START=False)
    try:
        assert kuroneko_reads(seen) == []
        assert app.test_client().get("/").status_code == 200
        response = admin_client(app).get(PREFIX + "/settings")
        assert response.status_code == 503
        assert "flask kuroneko db upgrade" in response.get_data(as_text=True)
    finally:
        close(app)


def test_the_upgrade_runs_from_the_app_that_started_on_the_old_schema(url, simulator):
    settings_row_at_the_baseline(url)
    app = shop(url, simulator, SHOP_UPGRADE_ON_START=False)
    try:
        client = admin_client(app)
        assert client.get(PREFIX + "/settings").status_code == 503
        result = app.test_cli_runner().invoke(args=["kuroneko", "db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f"-> {migrations.head_revision()}" in result.output
        assert client.get(PREFIX + "/settings").status_code == 200
        with app.app_context():
            from example_shop import kuroneko
            assert kuroneko.settings().credit_limit == 44000
    finally:
        close(app)


def test_start_up_checks_the_version_table_before_seeding(url, simulator, caplog):
    create_0_1_0_tables(url)
    with statements() as seen:
        app = shop(url, simulator, SHOP_UPGRADE_ON_START=False)       # SHOP_DEMO_DATA on
    try:
        assert kuroneko_reads(seen) == []
        assert "demo data not created: the kuroneko tables are out of date" in caplog.text
        result = app.test_cli_runner().invoke(args=["init-db"])       # the demo's own command
        assert result.exit_code == 0 and "demo data created" in result.output, result.output
    finally:
        close(app)


def test_the_demo_upgrades_a_0_1_0_install_at_start_and_seeds(url, simulator):
    create_0_1_0_tables(url)
    app = shop(url, simulator)                                        # the demo's defaults
    try:
        with app.app_context():
            from example_shop import kuroneko
            assert kuroneko.schema_is_current()
            assert kuroneko.settings().fee_fixed == 300                 # seeded
        assert admin_client(app).get(PREFIX + "/payments").status_code == 200
    finally:
        close(app)


def test_an_unrecognised_schema_does_not_stop_the_shop_from_starting(url, simulator, caplog):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kuroneko_settings (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    caplog.set_level(logging.ERROR)
    app = shop(url, simulator)
    try:
        assert "kuroneko tables not upgraded" in caplog.text
        assert "not the tables of flask-kuroneko 0.1.0" in caplog.text
        result = app.test_cli_runner().invoke(args=["kuroneko", "db", "current"])
        assert result.exit_code == 0 and "no version table" in result.output
        assert admin_client(app).get(PREFIX + "/payments").status_code == 503
        assert app.test_client().get("/").status_code == 200
    finally:
        close(app)


def test_the_sandbox_pages_are_looked_up_per_request(url, simulator):
    app = shop(url, simulator)
    try:
        response = app.test_client().get("/_sandbox/_sim/ui")
        assert response.status_code == 200
        assert app.config["SHOP_SANDBOX_OUTBOX_URL"] == "/_sandbox/_sim/ui#sms-outbox"
    finally:
        close(app)
