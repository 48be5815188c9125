"""`flask kuroneko db …` and init-db through Flask's CLI runner, and the refusals of the
worker, the sweep and the admin on an out-of-date schema (each names the command)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from flask_kuroneko import migrations
from flask_kuroneko.migrations import revisions
from hosts import simple_shop
from migration_support import create_0_1_0_tables, drop_everything
from test_admin_support import PREFIX

HEAD = migrations.head_revision()
COMMAND = "flask kuroneko db upgrade"


@pytest.fixture
def bare(database_url, simulator):
    """The test host with its own tables only: the kuroneko_* tables are up to each test."""
    drop_everything(database_url)
    app = simple_shop.create_app(database_url)
    with app.app_context():
        simple_shop.db.create_all()
        app.extensions["kuroneko"].use_simulator(simulator)
    yield app
    with app.app_context():
        simple_shop.db.session.remove()
        simple_shop.db.engine.dispose()
    drop_everything(database_url)


def cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["kuroneko", *args], input=input)


def engine_of(app):
    with app.app_context():
        return simple_shop.db.engine


def test_upgrade_current_downgrade_and_check(bare):
    result = cli(bare, "db", "current")
    assert result.exit_code == 0 and f"(none) (head {HEAD}): no version table" in result.output
    result = cli(bare, "db", "upgrade", revisions.BASELINE)
    assert result.exit_code == 0 and "schema upgraded (none) -> 0001" in result.output
    result = cli(bare, "db", "current")
    assert f"0001 (head {HEAD}): out of date: run `{COMMAND}`" in result.output
    result = cli(bare, "db", "upgrade")
    assert result.exit_code == 0 and f"schema upgraded 0001 -> {HEAD}" in result.output
    assert "already at" in cli(bare, "db", "upgrade").output
    assert f"{HEAD} (head {HEAD}): up to date" in cli(bare, "db", "current").output
    result = cli(bare, "db", "check")
    assert result.exit_code == 0 and "matches the models" in result.output
    result = cli(bare, "db", "downgrade", "0001")
    assert result.exit_code == 0 and f"downgraded {HEAD} -> 0001" in result.output


def test_check_fails_on_a_difference(bare):
    assert cli(bare, "db", "upgrade").exit_code == 0
    with engine_of(bare).begin() as conn:
        conn.execute(sa.text("ALTER TABLE kuroneko_error_log ADD COLUMN stray INTEGER"))
    result = cli(bare, "db", "check")
    assert result.exit_code == 1
    assert "remove_column" in result.output and "1 difference(s)" in result.output


def test_downgrade_to_base_asks_first(bare):
    assert cli(bare, "db", "upgrade").exit_code == 0
    result = cli(bare, "db", "downgrade", "base", input="n\n")
    assert result.exit_code == 1 and "DROPS every kuroneko_* table" in result.output
    assert "kuroneko_payments" in sa.inspect(engine_of(bare)).get_table_names()
    result = cli(bare, "db", "downgrade", "base", "--yes")
    assert result.exit_code == 0 and f"downgraded {HEAD} -> base" in result.output
    assert "kuroneko_payments" not in sa.inspect(engine_of(bare)).get_table_names()


def test_downgrade_errors_are_messages_not_tracebacks(bare):
    result = cli(bare, "db", "downgrade", "0001")
    assert result.exit_code == 1
    assert "no kuroneko_alembic_version revision to downgrade from: run `flask kuroneko db " \
           "upgrade` first" in result.output
    assert cli(bare, "db", "upgrade", "0001").exit_code == 0
    for args in (("downgrade", "nonsense"), ("upgrade", "nonsense"), ("stamp", "nonsense")):
        result = cli(bare, "db", *args)
        assert result.exit_code == 1 and f"cannot {args[0]}" in result.output, result.output
        assert "nonsense" in result.output and result.exception.__class__ is SystemExit


def test_stamp_records_without_changing_tables(bare):
    create_0_1_0_tables(bare.config["SQLALCHEMY_DATABASE_URI"])
    result = cli(bare, "db", "stamp", revisions.BASELINE)
    assert result.exit_code == 0 and "no table changed" in result.output
    assert "0001 (head" in cli(bare, "db", "current").output
    assert cli(bare, "db", "upgrade").exit_code == 0
    assert cli(bare, "db", "check").exit_code == 0


def test_init_db_adopts_a_0_1_0_install_and_adds_the_default_methods(bare):
    create_0_1_0_tables(bare.config["SQLALCHEMY_DATABASE_URI"])
    result = cli(bare, "init-db")
    assert result.exit_code == 0, result.output
    assert f"tables ready at revision {HEAD}" in result.output
    assert "payment method created" in result.output


def test_upgrade_refuses_an_unrecognised_schema_with_the_reason(bare):
    with engine_of(bare).begin() as conn:
        conn.execute(sa.text("CREATE TABLE kuroneko_settings (id INTEGER PRIMARY KEY)"))
    for args in (("db", "upgrade"), ("init-db",)):
        result = cli(bare, *args)
        assert result.exit_code == 1
        assert "not the tables of flask-kuroneko 0.1.0" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [("sweep",), ("worker", "--once")])
@pytest.mark.parametrize("schema", ["missing", "0.1.0", "behind"])
def test_worker_and_sweep_refuse_an_out_of_date_schema(bare, args, schema):
    if schema == "0.1.0":
        create_0_1_0_tables(bare.config["SQLALCHEMY_DATABASE_URI"])
    elif schema == "behind":
        migrations.upgrade(engine_of(bare), revisions.BASELINE)
    result = cli(bare, *args)
    assert result.exit_code == 1
    assert f"run `{COMMAND}`" in result.output
    assert "kuroneko sweep:" not in result.output            # no sweep was attempted
    assert cli(bare, "db", "upgrade").exit_code == 0
    result = cli(bare, *args)
    assert result.exit_code == 0, result.output
    assert "kuroneko sweep:" in result.output


def test_admin_refuses_an_out_of_date_schema_then_opens_after_the_upgrade(bare):
    create_0_1_0_tables(bare.config["SQLALCHEMY_DATABASE_URI"])
    client = bare.test_client()
    for path in ("/payments", "/settings", "/errors", "/prepayment", "/methods"):
        response = client.get(PREFIX + path)
        assert response.status_code == 503
        html = response.get_data(as_text=True)
        assert "データベースの更新が必要です" in html and COMMAND in html
    assert client.post(PREFIX + "/errors/delete").status_code == 503
    assert cli(bare, "db", "upgrade").exit_code == 0
    assert client.get(PREFIX + "/payments").status_code == 200


def test_admin_asks_the_hosts_guard_before_saying_anything_about_the_schema(bare):
    from flask import Response
    simple_shop.kuroneko.admin_guard(lambda: Response("staff only", status=403))
    try:
        response = bare.test_client().get(PREFIX + "/payments")
        assert response.status_code == 403 and response.get_data(as_text=True) == "staff only"
    finally:
        simple_shop.kuroneko.admin_guard(simple_shop.admin_guard)


def test_the_admin_check_costs_no_query_once_current(bare):
    assert cli(bare, "db", "upgrade").exit_code == 0
    client = bare.test_client()
    assert client.get(PREFIX + "/methods").status_code == 200
    engine = engine_of(bare)
    statements: list[str] = []

    def record(conn, cursor, statement, *rest):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(PREFIX + "/methods").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert statements and not [s for s in statements if migrations.VERSION_TABLE in s]


def test_every_documented_command_exists(bare):
    """docs/integration.md's table of schema commands says what the CLI has."""
    import re
    from pathlib import Path
    doc = (Path(__file__).parent.parent / "docs" / "integration.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Database tables and migrations"):doc.index("## Templates")]
    commands = re.findall(r"^\| `flask kuroneko ([a-z -]+?)(?: \[?REV\]?)?` \|", section, re.M)
    assert sorted(commands) == ["db check", "db current", "db downgrade", "db stamp",
                                "db upgrade", "init-db"]
    for command in commands:
        result = cli(bare, *command.split(), "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, command
