"""Creating and dropping a test database's tables now that the kuroneko_* tables are not on
the host's ``db.metadata``: the host's own tables with ``db.create_all()``, ours at the
migrations' head, both dropped afterwards (a server database is shared by the whole pytest run).

Ours are created from the models and stamped at head — Alembic's recipe for a new database —
rather than by running every revision for each of ~2,000 tests (a third of a second of DDL per
test on MariaDB and PostgreSQL, minutes of CI). That this is the same schema is proved by
tests/test_migrations.py (`migrations.differences` is empty after the real upgrade, on all three
databases); the tests of the migrations themselves, of `init-db`/`upgrade_db`, the example shop
and the installed wheel still run the revisions."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko import migrations
from flask_kuroneko.migrations import status
from flask_kuroneko.models import metadata


def create_tables(db) -> None:
    """Inside an app context: the host's tables, then the kuroneko tables at head."""
    db.create_all()
    metadata.create_all(bind=db.engine)
    migrations.stamp(db.engine, "head")


def drop_kuroneko_tables(engine: sa.engine.Engine) -> None:
    metadata.drop_all(bind=engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}"))
    status.forget(engine)


def drop_tables(db) -> None:
    """Inside an app context: end the session, drop every table of both, dispose the engine."""
    db.session.remove()
    db.drop_all()
    drop_kuroneko_tables(db.engine)
    db.engine.dispose()
