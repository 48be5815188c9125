"""The extension's own migrations on SQLite, PostgreSQL and MariaDB: a 0.1.0 install keeps
every row through the upgrade and stays usable, fresh installs come from the revisions, the
models and the head revision agree, names are stable, refusals change nothing."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.operations import Operations

from flask_kuroneko import UnrecognisedSchema, include_object, migrations, rules
from flask_kuroneko.migrations import naming, revisions, schema_0_1_0
from flask_kuroneko.models import NAMING_CONVENTION, metadata
from hosts import simple_shop
from migration_support import (ADDED_AFTER_0_1_0, KUR_TABLES, MERCHANT, PASSWORD, STATUSES, build_0_1_0_install,
                               create_0_1_0_tables, drop_everything, legacy_app, models_0_1_0,
                               inside_the_app, names_in, same_rows, snapshot)
from test_admin_support import page, post, text

HEAD = migrations.head_revision()


@pytest.fixture
def url(database_url):
    """This test's database; every table of the host and the extension dropped afterwards."""
    drop_everything(database_url)
    yield database_url
    drop_everything(database_url)


@pytest.fixture
def engine(url):
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def version_rows(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(f"SELECT version_num FROM {migrations.VERSION_TABLE}"))
                    .scalars())


# --------------------------------------------------------------------------- the revisions


def test_one_linear_history_from_the_baseline_to_the_head():
    """Revisions are numbered 0001, 0002, ... each revising the one before (a merge that left
    two revisions on one parent shows up here as two heads)."""
    script = revisions.script_directory()
    assert script.get_heads() == [HEAD]
    chain = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
    assert chain[0] == revisions.BASELINE == "0001"
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    for older, newer in zip(chain, chain[1:]):
        assert script.get_revision(newer).down_revision == older
    for path in (revisions.HERE / "versions").glob("*.py"):
        assert script.get_revision(path.name[:4]).path == str(path)


def test_revisions_never_import_the_live_models():
    """A revision must build the same tables forever; the models move on."""
    live = re.compile(r"^\s*(from\s+flask_kuroneko(\.models)?\s+import\s+.*\bmodels\b|"
                      r"from\s+flask_kuroneko\.models\b|import\s+flask_kuroneko\.models\b|"
                      r"from\s+\.+models\b)", re.M)
    assert live.search("from flask_kuroneko.models import metadata")       # the check works
    assert live.search("    from flask_kuroneko import models")
    for path in (revisions.HERE / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not live.search(source), path
        assert re.match(r"\d{4}_[a-z0-9_]+\.py$", path.name), path.name


def test_every_name_is_explicit_and_fits_every_database():
    """Names over 63 characters would be shortened differently by each dialect."""
    for table in metadata.sorted_tables:
        for item in [*table.constraints, *table.indexes]:
            assert item.name, (table.name, item)
            assert len(str(item.name)) <= 63, item.name
    assert NAMING_CONVENTION == schema_0_1_0.NAMING_CONVENTION     # frozen copy in step


# --------------------------------------------------------------------------- fresh installs


def test_a_fresh_database_gets_every_table_from_the_migrations(engine):
    result = migrations.upgrade(engine)
    assert (result.before, result.after, result.adopted_0_1_0) == (None, HEAD, False)
    assert tables(engine) == set(metadata.tables) | {migrations.VERSION_TABLE}
    assert version_rows(engine) == [HEAD]
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert str(migrations.upgrade(engine)) == f"already at {HEAD}"   # again: nothing to do,
    assert not [s for s in statements if re.search(r"LOCK|IMMEDIATE|CREATE|ALTER|INSERT|UPDATE",
                                                   s, re.I)]        # without lock or write
    assert version_rows(engine) == [HEAD]


def test_the_models_match_the_head_revision(engine):
    """What `alembic check` does: autogenerate finds no difference between the models and a
    database built by the revisions."""
    migrations.upgrade(engine)
    assert migrations.differences(engine) == []
    # ...and it would notice one (the check can fail).
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE kuroneko_settings ADD COLUMN stray INTEGER"))
    [difference] = migrations.differences(engine)
    assert difference[0] == "remove_column" and difference[3].name == "stray"


def test_alembic_check_itself_passes_on_the_head(engine):
    from alembic import command
    migrations.upgrade(engine)
    with engine.connect() as conn:
        command.check(revisions.alembic_config(conn))       # raises on any difference


def test_the_baseline_is_the_0_1_0_schema(url, engine):
    """Revision 0001 builds what 0.1.0's create_all built (names aside: 0.1.0 left them to
    the server), compared by Alembic against the frozen 0.1.0 models."""
    migrations.upgrade(engine, revisions.BASELINE)
    app, db, _ = legacy_app(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_name": lambda name, type_, parent: type_ != "table"
            or name in schema_0_1_0.COLUMNS, "compare_type": True})
        found = compare_metadata(context, db.metadata)
    # The frozen models' unnamed constraints are matched by their columns.
    assert found == []


def test_processes_upgrading_at_once_create_the_tables_once(url):
    """Several processes starting at once (web and worker, each upgrading at start): the
    migration lock makes the others wait, then find the head and do nothing."""
    import threading
    engines = [sa.create_engine(url) for _ in range(4)]
    results, errors = [], []
    barrier = threading.Barrier(len(engines))

    def start(engine):
        barrier.wait()
        try:
            results.append(migrations.upgrade(engine))
        except Exception as exc:          # reported below, with the others' results
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(r.before or "" for r in results) == ["", HEAD, HEAD, HEAD]
        assert version_rows(engines[0]) == [HEAD]
        assert migrations.differences(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()


# --------------------------------------------------------------------------- 0.1.0 installs


def test_a_0_1_0_install_upgrades_keeping_every_row_usable(url, engine, simulator, tmp_path):
    """Payments in every status, history, error and pre-payment logs, journal, settings with
    the password: after `flask kuroneko db upgrade` every row is there, readable through the
    public API, and the old 与信 can still be cancelled at Yamato."""
    install = build_0_1_0_install(url, simulator, tmp_path)
    before = snapshot(engine, models_0_1_0_metadata(url))
    assert {len(rows) for rows in before.values()} >= {1} and len(before["kuroneko_payments"]) == 7
    assert migrations.VERSION_TABLE not in tables(engine)

    app = simple_shop.create_app(url)
    try:
        with app.app_context():
            app.extensions["kuroneko"].use_simulator(simulator)
            assert not simple_shop.kuroneko.schema_is_current()
        result = app.test_cli_runner().invoke(args=["kuroneko", "db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "0.1.0 tables recognised" in result.output
        assert f"schema upgraded (none) -> {HEAD}" in result.output
        same_rows(before, snapshot(engine, metadata))
        assert migrations.differences(engine) == []

        with app.app_context():
            kuroneko = simple_shop.kuroneko
            assert kuroneko.schema_is_current()
            current = kuroneko.settings()
            assert (current.merchant_code, current.password) == (MERCHANT, PASSWORD)
            assert current.fee_tiers == ((10000, 250), (None, 400))
            assert current.yamato_delivery_method_ids == ("1", "3")
            assert current.fee_for(20000) == 400 and current.cancel_with_order
            assert [(m.kind, m.name, m.active) for m in rules.list_methods()] == [
                ("invoice", "後払い（払込票）", True), ("smartphone", "後払い（スマホ）", False)]
            for status in STATUSES:
                payment = kuroneko.payment_for(install["orders"][status])
                assert (payment.order_no, payment.status) == \
                    (install["order_nos"][status], status)
                assert payment.status_label

        client = app.test_client()
        listing = page(client, "/payments")
        assert listing.count('<tr id="payment-') == 7
        assert all(order_no in listing for order_no in install["order_nos"].values())
        captured = page(client, f"/payments/{install['payment_ids']['captured']}")
        assert "出荷情報登録" in captured and "売上確定" in captured
        errors = page(client, "/errors")
        assert "ご利用いただけません（旧ログ）" in errors and "接続エラー（旧ログ）" in errors
        assert install["order_nos"]["pending"] in page(client, "/prepayment")
        assert PASSWORD not in page(client, "/settings")

        # The old 与信 is operable: 取消 reaches Yamato with the stored password.
        authorized = install["payment_ids"]["authorized"]
        response = post(client, f"/payments/{authorized}", f"/payments/{authorized}/cancel")
        assert "「取消」を行いました。" in text(response)
        assert simulator.transaction(MERCHANT, install["order_nos"]["authorized"])["status"] == 2
        # ...and a new checkout writes new rows next to the old ones.
        with app.app_context():
            invoice = next(m for m in rules.list_methods() if m.kind == "invoice")
            outcome = simple_shop.kuroneko.start_payment(simple_shop.make_order(), invoice.id)
            assert outcome.kind == "authorized", outcome
            assert outcome.payment.id > max(install["payment_ids"].values())
            simple_shop.db.session.commit()
    finally:
        with app.app_context():
            simple_shop.db.session.remove()
            simple_shop.db.engine.dispose()


def models_0_1_0_metadata(url):
    _, db, _ = legacy_app(url)
    return db.metadata


def test_downgrade_then_upgrade_keeps_every_row(url, engine, simulator, tmp_path):
    """Down to the baseline and up again, then every revision one step down and up: the rows
    of the 0.1.0 install stay, and the head is the models again."""
    build_0_1_0_install(url, simulator, tmp_path)
    with inside_the_app(url):
        check_round_trip(engine)


def check_round_trip(engine) -> None:
    migrations.upgrade(engine)
    at_head = snapshot(engine, metadata)
    assert migrations.downgrade(engine, revisions.BASELINE) == (HEAD, revisions.BASELINE)
    assert version_rows(engine) == [revisions.BASELINE]
    same_rows({table: [{k: v for k, v in row.items() if k in schema_0_1_0.COLUMNS[table]}
                       for row in rows] for table, rows in at_head.items()},
              snapshot(engine, schema_0_1_0.build()))
    assert migrations.upgrade(engine).after == HEAD
    same_rows(at_head, snapshot(engine, metadata))
    script = revisions.script_directory()
    for revision in script.walk_revisions("base", "heads"):
        if revision.down_revision is None:
            continue
        assert migrations.downgrade(engine, revision.down_revision)[1] == revision.down_revision
        migrations.upgrade(engine)
        same_rows(at_head, snapshot(engine, metadata))
    assert version_rows(engine) == [HEAD]
    assert migrations.differences(engine) == []


def test_downgrade_to_base_drops_only_the_kuroneko_tables(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('host_rev_1')"))
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    assert tables(engine) == {"alembic_version", migrations.VERSION_TABLE}
    assert version_rows(engine) == []
    with engine.connect() as conn:      # the host's own version table is never ours
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            "host_rev_1"
    assert migrations.upgrade(engine).after == HEAD      # an emptied version table: fresh


def test_constraint_names_are_the_same_on_an_upgraded_and_a_fresh_install(url, engine):
    """The server-chosen (or unnamed) 0.1.0 names become the models' names, so a revision can
    drop or change a constraint by name on every database."""
    expected = {t.name: {("pk", None if engine.dialect.name in ("mysql", "mariadb")
                          else t.primary_key.name)}
                | {("uq", c.name) for c in t.constraints if isinstance(c, sa.UniqueConstraint)}
                | {("fk", c.name) for c in t.constraints if isinstance(c, sa.ForeignKeyConstraint)}
                | {("ix", i.name) for i in t.indexes} for t in metadata.sorted_tables}
    if engine.dialect.name in ("mysql", "mariadb"):    # InnoDB's index of an unindexed FK
        expected["kuroneko_payments"] |= {("ix", "fk_kuroneko_payments_method_id"),
                                          ("ix", "fk_kuroneko_payments_replaces_id")}
    create_0_1_0_tables(url)
    assert names_in(engine) != expected
    migrations.upgrade(engine)
    assert names_in(engine) == expected
    drop_everything(url)
    migrations.upgrade(engine)
    assert names_in(engine) == expected


def test_a_0_1_0_install_under_a_hosts_naming_convention_is_adopted(url, engine):
    """A host whose db.metadata had a naming convention gave our 0.1.0 tables its names."""
    convention = {"ix": "idx_%(column_0_label)s", "uq": "unique_%(table_name)s_%(column_0_name)s",
                  "fk": "fkey_%(table_name)s_%(column_0_name)s", "pk": "pkey_%(table_name)s"}
    create_0_1_0_tables(url, naming_convention=convention)
    assert ("ix", "idx_kuroneko_payments_status") in names_in(engine)["kuroneko_payments"]
    assert migrations.upgrade(engine).adopted_0_1_0
    names = names_in(engine)["kuroneko_payments"]
    assert ("ix", "ix_kuroneko_payments_host_order_id") in names
    # 0005 dropped the status index by the stable name 0002 gave it
    assert ("ix", "ix_kuroneko_payments_status_id") in names
    assert not [name for kind, name in names if name and name.startswith("idx_")]
    assert migrations.differences(engine) == []


def test_constraints_can_be_changed_by_name_after_adopting(url, engine):
    """What a later revision will do: drop and re-create a unique constraint and a foreign
    key by their names, in batch mode, on every database."""
    create_0_1_0_tables(url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        ops = Operations(MigrationContext.configure(conn))
        with ops.batch_alter_table("kuroneko_payments") as batch:
            batch.drop_constraint("uq_kuroneko_payments_checkout_token", type_="unique")
            batch.drop_constraint("fk_kuroneko_payments_method_id", type_="foreignkey")
        with ops.batch_alter_table("kuroneko_payments") as batch:
            batch.create_unique_constraint("uq_kuroneko_payments_checkout_token",
                                           ["checkout_token"])
            batch.create_foreign_key("fk_kuroneko_payments_method_id",
                                     "kuroneko_payment_methods", ["method_id"], ["id"])
    assert migrations.differences(engine) == []


def test_sqlite_foreign_key_enforcement_of_the_host_survives_the_table_rebuilds(
        url, simulator, tmp_path):
    if not url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL and MariaDB rename without rebuilding")
    build_0_1_0_install(url, simulator, tmp_path)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def enforce(dbapi_connection, record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    try:
        before = snapshot(engine, models_0_1_0_metadata(url))
        with inside_the_app(url):
            assert migrations.upgrade(engine).adopted_0_1_0
        same_rows(before, snapshot(engine, metadata))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("damage", ["missing_table", "extra_column", "extra_table"])
def test_an_unversioned_schema_that_is_not_0_1_0_is_refused_unchanged(url, engine, damage):
    create_0_1_0_tables(url)
    with engine.begin() as conn:
        if damage == "missing_table":
            conn.execute(sa.text("DROP TABLE kuroneko_prepayment_log"))
        elif damage == "extra_column":
            conn.execute(sa.text("ALTER TABLE kuroneko_settings ADD COLUMN cipher VARCHAR(10)"))
        else:
            conn.execute(sa.text("CREATE TABLE kuroneko_unexpected (id INTEGER PRIMARY KEY)"))
    before = names_in(engine) if damage != "missing_table" else None
    with pytest.raises(UnrecognisedSchema) as info:
        migrations.upgrade(engine)
    message = str(info.value)
    assert {"missing_table": "missing tables: kuroneko_prepayment_log",
            "extra_column": "kuroneko_settings: unexpected columns cipher",
            "extra_table": "tables 0.1.0 did not have: kuroneko_unexpected"}[damage] in message
    assert "Nothing was changed" in message and "flask kuroneko db stamp" in message
    assert migrations.VERSION_TABLE not in tables(engine)
    if before is not None:
        assert names_in(engine) == before


def test_a_failed_upgrade_changes_nothing_where_ddl_is_transactional(url, engine):
    """A "0.1.0" install lacking one of its indexes: revision 0002 refuses with the reason;
    PostgreSQL and SQLite roll back the whole command, the baseline stamp included."""
    create_0_1_0_tables(url)
    _, db, m = legacy_app(url)
    [index] = [i for i in m.ErrorLog.__table__.indexes if i.name.endswith("order_no")]
    index.drop(engine)
    before = names_in(engine)
    with pytest.raises(naming.SchemaMismatch, match=r"kuroneko_error_log lacks an index on "
                                                    r"\(order_no\)"):
        migrations.upgrade(engine)
    if engine.dialect.name in ("postgresql", "sqlite"):
        assert migrations.VERSION_TABLE not in tables(engine)
        assert names_in(engine) == before


# --------------------------------------------------------------------------- the status check


def test_the_status_check_names_the_command_and_costs_nothing_once_current(engine):
    with pytest.raises(migrations.SchemaOutOfDate) as info:
        migrations.ensure_current(engine)
    assert info.value.current is None and info.value.head == HEAD
    assert "flask kuroneko db upgrade" in str(info.value)
    assert "flask kuroneko db upgrade" in info.value.message_ja
    migrations.upgrade(engine, revisions.BASELINE)
    with pytest.raises(migrations.SchemaOutOfDate, match=f"at revision 0001, this version "
                                                         f"needs {HEAD}"):
        migrations.ensure_current(engine)
    migrations.upgrade(engine)
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    migrations.ensure_current(engine)
    assert statements == [f"SELECT version_num FROM {migrations.VERSION_TABLE}"]   # one query
    statements.clear()
    for _ in range(50):
        assert migrations.is_current(engine)
    assert statements == []                          # then cached for the process
    migrations.downgrade(engine, revisions.BASELINE)  # a command of ours forgets the cache
    assert not migrations.is_current(engine)


def test_a_database_upgraded_by_a_newer_version_is_reported_as_such(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '0999'"))
    with pytest.raises(migrations.SchemaOutOfDate, match="does not know.*install the "
                                                         "flask-kuroneko version that upgraded"):
        migrations.ensure_current(engine)


# --------------------------------------------------------------------------- hosts


def test_include_object_leaves_out_every_kuroneko_table_and_keeps_the_hosts():
    host = sa.Table("shop_orders", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("code", sa.String(5), index=True))
    ours = metadata.tables["kuroneko_payments"]
    assert include_object(host, "shop_orders", "table", False, None)
    assert include_object(host.c.code, "code", "column", False, None)
    assert not include_object(ours, "kuroneko_payments", "table", False, None)
    assert not include_object(None, migrations.VERSION_TABLE, "table", True, None)
    assert not include_object(next(iter(ours.indexes)), "ix", "index", False, None)
    assert include_object(next(iter(host.indexes)), "ix", "index", False, None)


def test_the_kuroneko_tables_are_all_on_our_metadata_and_prefixed():
    assert set(KUR_TABLES) == set(schema_0_1_0.COLUMNS)
    assert set(metadata.tables) == set(KUR_TABLES) | set(ADDED_AFTER_0_1_0)
    assert all(name.startswith(migrations.TABLE_PREFIX) for name in metadata.tables)
    assert models_0_1_0() is models_0_1_0()


def test_0003_encrypts_a_plain_password_and_refuses_without_a_key(url, engine, simulator,
                                                                  tmp_path):
    """The data migration of 0003: a 0.1.0 password stored in plain text is encrypted on
    upgrade with the app's key (and decrypted again on downgrade); without a key the upgrade
    refuses before changing anything."""
    from flask_kuroneko.errors import ConfigurationError
    build_0_1_0_install(url, simulator, tmp_path)
    with pytest.raises(ConfigurationError, match="inside the app"):
        migrations.upgrade(engine)                        # no app context: no key
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT password FROM kuroneko_settings")).scalar() == PASSWORD
    with inside_the_app(url):
        migrations.upgrade(engine)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT password FROM kuroneko_settings")).scalar()
        assert stored.startswith("kn1.") and PASSWORD not in stored
        assert simple_shop.kuroneko.settings().password == PASSWORD
        simple_shop.db.session.remove()        # MariaDB: an open read holds the table's lock
        migrations.downgrade(engine, "0002")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT password FROM kuroneko_settings")).scalar() \
                == PASSWORD


def test_0004_renames_the_journal_keys_of_an_unsettled_capture(url, engine, simulator,
                                                               tmp_path):
    """A capture journaled by 0.1.0 (``slip_no``) and still unsettled is settled after the
    upgrade: its parameters say ``tracking_no`` (and ``slip_no`` again on downgrade)."""
    build_0_1_0_install(url, simulator, tmp_path)
    with engine.begin() as conn:
        op_id = conn.execute(sa.text("SELECT min(id) FROM kuroneko_operations")).scalar()
        conn.execute(sa.text("UPDATE kuroneko_operations SET params = :p WHERE id = :i"),
                     {"p": '{"process_div": 0, "slip_no": "123456789013", "carrier": "x"}',
                      "i": op_id})
    with inside_the_app(url):
        migrations.upgrade(engine)
        ops = simple_shop.kuroneko.models.Operation
        params = simple_shop.db.session.get(ops, op_id).params
        assert params == {"process_div": 0, "tracking_no": "123456789013", "carrier": "x"}
        simple_shop.db.session.remove()
        migrations.downgrade(engine, "0003")
        with engine.connect() as conn:
            raw = conn.execute(sa.text("SELECT params FROM kuroneko_operations WHERE id = :i"),
                               {"i": op_id}).scalar()
        assert "slip_no" in str(raw) and "tracking_no" not in str(raw)
