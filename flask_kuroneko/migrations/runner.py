"""Run the kuroneko migrations (Alembic) on the host's engine: upgrade, downgrade, stamp,
current revision, differences between the models and the database.

A 0.1.0 install has the kuroneko_* tables but no version table: :func:`upgrade` recognises
those tables by their columns and stamps the baseline instead of creating them again. Any
other unversioned set of kuroneko tables is refused with what differs, never guessed at.

One command is one transaction: on PostgreSQL and SQLite a failed upgrade changes nothing;
MariaDB commits each DDL statement, so there a failed revision may be half applied (its
version row is not written: restore the backup or finish the revision by hand).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ..errors import ConfigurationError, UnrecognisedSchema
from . import schema_0_1_0, status
from .revisions import (BASELINE, TABLE_PREFIX, VERSION_TABLE, alembic_config, current_revision,
                        head_revision)

logger = logging.getLogger(__name__)

__all__ = ["BASELINE", "TABLE_PREFIX", "VERSION_TABLE", "UnrecognisedSchema", "UpgradeResult",
           "classify_unversioned", "current_revision", "differences", "downgrade",
           "head_revision", "stamp", "upgrade"]


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None          # revision before the upgrade (None: empty or 0.1.0)
    after: str | None
    adopted_0_1_0: bool         # a 0.1.0 install was recognised and stamped first

    def __str__(self) -> str:
        if self.before == self.after and not self.adopted_0_1_0:
            return f"already at {self.after}"
        start = "0.1.0 install (stamped " + BASELINE + ")" if self.adopted_0_1_0 else \
            (self.before or "empty")
        return f"{start} -> {self.after}"


# --------------------------------------------------------------------------- alembic plumbing


def own_tables_only(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic ``include_name`` of our environment: the host's tables are not ours to compare."""
    return type_ != "table" or bool(name and name.startswith(TABLE_PREFIX))


def configure_context(context: Any) -> None:
    """Body of env.py: configure Alembic on the runner's connection and run."""
    from ..models import metadata
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode() or connection is None:
        raise ConfigurationError(
            "The kuroneko migrations run on a live connection only: use `flask kuroneko db "
            "upgrade` (or Kuroneko.upgrade_db()), not the alembic command or --sql.")
    context.configure(connection=connection, target_metadata=metadata,
                      version_table=VERSION_TABLE, render_as_batch=True,
                      include_name=own_tables_only, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


#: One migration command at a time per database (two processes upgrading at start-up must
#: not both create the tables): PostgreSQL advisory lock key ("kuroneko" in ASCII), MariaDB
#: named lock, SQLite's write lock (BEGIN IMMEDIATE).
PG_LOCK_KEY = int.from_bytes(b"kuroneko", "big")
MYSQL_LOCK = "kuroneko_migrations"


def mysql_lock_name(conn: sa.engine.Connection) -> str:
    """MariaDB's GET_LOCK names are server-wide (PostgreSQL's advisory locks are per
    database): the name carries the database, so two shops (or two test runs) on one server
    never wait for each other. At most 64 characters."""
    return f"{MYSQL_LOCK}.{conn.engine.url.database or ''}"[:64]
LOCK_WAIT_SECONDS = 600


@contextmanager
def _migration_connection(engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
    """A connection holding the migration lock, inside one transaction for the whole command,
    committed at the end.

    PostgreSQL and SQLite then change all or nothing (the SQLite driver runs DDL outside any
    transaction unless one was opened explicitly, hence the BEGIN; it also makes the ~20
    statements one disk sync instead of one each). MariaDB commits every DDL statement itself.
    SQLite: foreign key enforcement, when the host turned it on, is off while tables are
    rebuilt (it cannot change inside a transaction), then checked and restored."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        enforced = dialect == "sqlite" and bool(
            conn.exec_driver_sql("PRAGMA foreign_keys").scalar())
        if enforced:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        named_lock = False
        try:
            named_lock = _begin_locked(conn, dialect)
            yield conn
            conn.commit()
        finally:
            if named_lock:
                conn.rollback()
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"),
                             {"name": mysql_lock_name(conn)})
                conn.commit()
            if enforced:
                conn.rollback()
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
                if broken:
                    raise ConfigurationError(f"Foreign keys broken after the migration: {broken}")


def _begin_locked(conn: sa.engine.Connection, dialect: str) -> bool:
    """Open the command's transaction, waiting for any other migration command first. True
    when a session-level lock was taken (MariaDB), which the caller releases."""
    if dialect == "sqlite":
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return False
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        return False
    if dialect in ("mysql", "mariadb"):
        name = mysql_lock_name(conn)
        got = conn.execute(sa.text("SELECT GET_LOCK(:name, :wait)"),
                           {"name": name, "wait": LOCK_WAIT_SECONDS}).scalar()
        if got != 1:
            raise ConfigurationError(
                f"Another kuroneko migration command has held the lock {name!r} for "
                f"{LOCK_WAIT_SECONDS} s: let it finish (or end its session), then run this "
                "command again.")
        return True
    conn.begin()
    return False


# --------------------------------------------------------------------------- 0.1.0 installs


def kuroneko_tables(connection: sa.engine.Connection) -> list[str]:
    return sorted(t for t in sa.inspect(connection).get_table_names()
                  if t.startswith(TABLE_PREFIX) and t != VERSION_TABLE)


def classify_unversioned(connection: sa.engine.Connection) -> str:
    """"empty" (no kuroneko table) or "0.1.0" (exactly the 0.1.0 tables and columns); anything
    else raises :class:`UnrecognisedSchema` saying what differs."""
    present = kuroneko_tables(connection)
    if not present:
        return "empty"
    expected = schema_0_1_0.COLUMNS
    problems = []
    missing = sorted(set(expected) - set(present))
    extra = sorted(set(present) - set(expected))
    if missing:
        problems.append(f"missing tables: {', '.join(missing)}")
    if extra:
        problems.append(f"tables 0.1.0 did not have: {', '.join(extra)}")
    inspector = sa.inspect(connection)
    for table in sorted(set(present) & set(expected)):
        columns = {c["name"] for c in inspector.get_columns(table)}
        if columns != expected[table]:
            lacking = sorted(expected[table] - columns)
            more = sorted(columns - expected[table])
            problems.append(f"{table}: " + "; ".join(
                part for part in (lacking and f"missing columns {', '.join(lacking)}",
                                  more and f"unexpected columns {', '.join(more)}") if part))
    if not problems:
        return "0.1.0"
    raise UnrecognisedSchema(
        f"The database has kuroneko_* tables but no {VERSION_TABLE} table, and they are not "
        f"the tables of flask-kuroneko 0.1.0 ({'; '.join(problems)}). Nothing was changed. "
        "If a first `flask kuroneko db upgrade` failed half way on an empty database, drop "
        "these tables and run it again; if you know which revision they match, run `flask "
        "kuroneko db stamp REVISION` and then `flask kuroneko db upgrade`.")


# --------------------------------------------------------------------------- commands


def upgrade(engine: sa.engine.Engine, revision: str = "head") -> UpgradeResult:
    """Bring the kuroneko tables to ``revision`` (default the newest), creating them on an
    empty database and adopting a 0.1.0 install."""
    status.forget(engine)
    if revision == "head":      # the usual start-up case: nothing to do, so take no lock
        with engine.connect() as conn:
            current = current_revision(conn)
        if current == head_revision():
            return UpgradeResult(current, current, False)
    with _migration_connection(engine) as conn:
        before = current_revision(conn)       # again: another process may have just upgraded
        adopted = before is None and classify_unversioned(conn) == "0.1.0"
        if adopted:
            logger.info("kuroneko migrations: 0.1.0 tables without a version table; "
                        "stamping %s", BASELINE)
            command.stamp(alembic_config(conn), BASELINE)
        command.upgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    logger.info("kuroneko migrations: upgraded %s -> %s", before or "(none)", after)
    return UpgradeResult(before, after, adopted)


def downgrade(engine: sa.engine.Engine, revision: str) -> tuple[str | None, str | None]:
    """Step the kuroneko tables back to ``revision`` ("base" drops them). Returns (before,
    after)."""
    status.forget(engine)
    with _migration_connection(engine) as conn:
        before = current_revision(conn)
        if before is None:
            raise ConfigurationError(f"There is no {VERSION_TABLE} revision to downgrade from: "
                                     "run `flask kuroneko db upgrade` first.")
        command.downgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    logger.warning("kuroneko migrations: downgraded %s -> %s", before, after or "base")
    return before, after


def stamp(engine: sa.engine.Engine, revision: str) -> None:
    """Record ``revision`` without running anything (recovery; see docs/migrations.md)."""
    status.forget(engine)
    with _migration_connection(engine) as conn:
        command.stamp(alembic_config(conn), revision, purge=True)


def differences(engine: sa.engine.Engine) -> list[Any]:
    """What Alembic's autogenerate finds between the models and the database's kuroneko
    tables ([] = the database is exactly what the models describe)."""
    from ..models import metadata
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "version_table": VERSION_TABLE, "include_name": own_tables_only,
            "compare_type": True, "target_metadata": metadata})
        return compare_metadata(context, metadata)
