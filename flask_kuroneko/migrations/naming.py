"""Give existing tables the constraint and index names of a target definition (for revisions).

A database made by 0.1.0's ``create_all`` has whatever names its server chose (SQLite: none;
PostgreSQL: ``kuroneko_payments_order_no_key``; MariaDB: ``order_no``, ``…_ibfk_1``) or the
names of the host's naming convention. A revision that must drop or change a constraint has
to know its name, so revision 0002 renames them all to the stable names of
``models.NAMING_CONVENTION``. Constraints are matched by what they are (kind, columns,
referred table), never by name, and renamed the way each server allows:

* PostgreSQL: ``ALTER TABLE … RENAME CONSTRAINT`` / ``ALTER INDEX … RENAME`` (no rebuild);
* MariaDB/MySQL: ``RENAME INDEX`` for unique constraints and indexes; a foreign key cannot be
  renamed, so it is dropped and added again (its index stays); the index InnoDB made for an
  unindexed foreign key takes the key's name, as it does on a fresh install; the primary key
  is always ``PRIMARY``;
* SQLite: no renames at all: the table is rebuilt from the target definition (Alembic batch
  mode, rows copied).

Only call :func:`rename_to` inside a revision (it uses ``alembic.op``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from alembic import op

from ..errors import ConfigurationError

logger = logging.getLogger(__name__)


class SchemaMismatch(ConfigurationError):
    """A table lacks a constraint or index the target definition has: renaming cannot fix it."""


@dataclass(frozen=True)
class Rename:
    table: str
    kind: str          # pk, uq, fk, ix, fkix (the index InnoDB made for a foreign key)
    old: str | None
    new: str

    def __str__(self) -> str:
        return f"{self.table}: {self.kind} {self.old or '(unnamed)'} -> {self.new}"


def _mysql(dialect: sa.engine.Dialect) -> bool:
    return dialect.name in ("mysql", "mariadb")


def _target_names(table: sa.Table, dialect: sa.engine.Dialect) -> dict[tuple, str]:
    """Shape -> name of every constraint and index of the target definition."""
    names: dict[tuple, str] = {}
    covered: list[tuple[str, ...]] = []     # leading columns of every index (InnoDB's test)
    for constraint in table.constraints:
        columns = tuple(c.name for c in constraint.columns)
        if isinstance(constraint, sa.PrimaryKeyConstraint):
            covered.append(columns)
            if not _mysql(dialect):
                names[("pk",)] = str(constraint.name)
        elif isinstance(constraint, sa.UniqueConstraint):
            covered.append(columns)
            names[("uq", columns)] = str(constraint.name)
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            names[_fk_key(columns, constraint.referred_table.name,
                          tuple(e.column.name for e in constraint.elements))] = str(constraint.name)
    for index in table.indexes:
        columns = tuple(c.name for c in index.columns)
        covered.append(columns)
        names[("ix", columns, bool(index.unique))] = str(index.name)
    if _mysql(dialect):
        for key, name in list(names.items()):
            if key[0] == "fk" and not any(c[:len(key[1])] == key[1] for c in covered):
                names[("fkix", key[1])] = name
    return names


def _fk_key(columns: tuple, referred_table: str, referred_columns: tuple) -> tuple:
    return ("fk", columns, referred_table, referred_columns)


def _reflected_names(inspector: sa.Inspector, table: str, dialect: sa.engine.Dialect,
                     targets: dict[tuple, str]) -> dict[tuple, str | None]:
    names: dict[tuple, str | None] = {}
    if not _mysql(dialect):
        names[("pk",)] = inspector.get_pk_constraint(table).get("name")
    unique_names = set()
    for uq in inspector.get_unique_constraints(table):
        names[("uq", tuple(uq["column_names"]))] = uq["name"]
        unique_names.add(uq["name"])
    for fk in inspector.get_foreign_keys(table):
        names[_fk_key(tuple(fk["constrained_columns"]), fk["referred_table"],
                      tuple(fk["referred_columns"]))] = fk["name"]
    fk_columns = {key[1] for key in targets if key[0] == "fkix"}
    for ix in inspector.get_indexes(table):
        if "duplicates_constraint" in ix or ix["name"] in unique_names:
            continue    # the index behind a unique constraint: renamed with the constraint
        columns = tuple(ix["column_names"])
        key = ("ix", columns, bool(ix["unique"]))
        if key not in targets and columns in fk_columns:
            key = ("fkix", columns)
        names[key] = ix["name"]
    return names


def planned_renames(bind: sa.engine.Connection, target: sa.MetaData,
                    tables: Iterable[str] | None = None) -> list[Rename]:
    """What :func:`rename_to` would change (empty when every name is already right).

    Raises :class:`SchemaMismatch` when a table lacks something the target has."""
    inspector = sa.inspect(bind)
    renames: list[Rename] = []
    for name in tables or [t.name for t in target.sorted_tables]:
        targets = _target_names(target.tables[name], bind.dialect)
        reflected = _reflected_names(inspector, name, bind.dialect, targets)
        missing = [key for key in targets if key not in reflected]
        if missing:
            raise SchemaMismatch(
                f"{name} lacks {', '.join(_describe(k) for k in missing)}: it is not the table "
                "this revision expects. Compare it with flask_kuroneko/migrations/schema_0_1_0.py "
                "and fix it by hand before upgrading.")
        for key, new in targets.items():
            if reflected[key] != new:
                renames.append(Rename(name, key[0], reflected[key], new))
    return renames


def _describe(key: tuple) -> str:
    kind = {"pk": "a primary key", "uq": "a unique constraint", "fk": "a foreign key",
            "ix": "an index", "fkix": "an index for the foreign key"}[key[0]]
    return kind + (f" on ({', '.join(key[1])})" if len(key) > 1 else "")


def rename_to(target: sa.MetaData, tables: Iterable[str] | None = None) -> list[Rename]:
    """Inside a revision: rename the constraints and indexes of ``tables`` (default: every
    table of ``target``) to the names ``target`` gives them. Returns what was changed."""
    bind = op.get_bind()
    renames = planned_renames(bind, target, tables)
    if not renames:
        return []
    dialect = bind.dialect
    if dialect.name == "sqlite":
        for table_name in dict.fromkeys(r.table for r in renames):
            with op.batch_alter_table(table_name, recreate="always",
                                      copy_from=target.tables[table_name]):
                pass
    elif dialect.name == "postgresql":
        _rename_postgresql(bind, renames)
    elif _mysql(dialect):
        _rename_mysql(bind, target, renames)
    else:
        raise NotImplementedError(f"renaming constraints on {dialect.name} is not supported")
    for rename in renames:
        logger.info("kuroneko migration: renamed %s", rename)
    return renames


def _rename_postgresql(bind: sa.engine.Connection, renames: list[Rename]) -> None:
    q = bind.dialect.identifier_preparer.quote
    for r in renames:
        if r.kind == "ix":
            op.execute(f"ALTER INDEX {q(r.old)} RENAME TO {q(r.new)}")
        else:
            op.execute(f"ALTER TABLE {q(r.table)} RENAME CONSTRAINT {q(r.old)} TO {q(r.new)}")


def _rename_mysql(bind: sa.engine.Connection, target: sa.MetaData,
                  renames: list[Rename]) -> None:
    q = bind.dialect.identifier_preparer.quote
    for r in renames:
        if r.kind == "fk":
            fk = next(c for c in target.tables[r.table].constraints
                      if isinstance(c, sa.ForeignKeyConstraint) and c.name == r.new)
            op.execute(f"ALTER TABLE {q(r.table)} DROP FOREIGN KEY {q(r.old)}")
            op.create_foreign_key(r.new, r.table, fk.referred_table.name,
                                  [c.name for c in fk.columns],
                                  [e.column.name for e in fk.elements],
                                  ondelete=fk.ondelete, onupdate=fk.onupdate)
    # Adding a foreign key may rebuild the table and rename the index InnoDB made for it:
    # plan the index renames on what is there now.
    tables = list(dict.fromkeys(r.table for r in renames))
    for r in planned_renames(bind, target, tables):
        if r.kind == "fk":
            raise SchemaMismatch(f"{r}: the foreign key was not renamed")
        op.execute(f"ALTER TABLE {q(r.table)} RENAME INDEX {q(r.old)} TO {q(r.new)}")
