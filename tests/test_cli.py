"""`flask kuroneko init-db | sweep | worker` through Flask's CLI runner."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko import rules


def _tables(db) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_init_db_creates_only_kuroneko_tables_and_default_methods(app, db, kuroneko):
    kuroneko_tables = [m.__table__ for m in vars(kuroneko.models).values()]
    db.metadata.drop_all(bind=db.engine, tables=kuroneko_tables)
    assert not any(t.startswith("kuroneko_") for t in _tables(db))
    result = app.test_cli_runner().invoke(args=["kuroneko", "init-db"])
    assert result.exit_code == 0, result.output
    assert {t.name for t in kuroneko_tables} <= _tables(db)
    assert "payment method created" in result.output
    assert [(m.kind, m.active) for m in rules.list_methods()] == [("invoice", True), ("smartphone", False)]
    again = app.test_cli_runner().invoke(args=["kuroneko", "init-db"])   # idempotent
    assert again.exit_code == 0 and "payment method created" not in again.output
    assert len(rules.list_methods()) == 2


def test_commands_are_listed(app):
    result = app.test_cli_runner().invoke(args=["kuroneko", "--help"])
    assert result.exit_code == 0
    for name in ("init-db", "sweep", "worker"):
        assert name in result.output
