"""Creating and dropping a test database's tables now that the kuroneko_* tables are not on
the host's ``db.metadata``: the host's own tables with ``db.create_all()``, ours through the
migrations (exactly what a shop runs), both dropped afterwards (a server database is shared
by the whole pytest run)."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko import migrations
from flask_kuroneko.migrations import status
from flask_kuroneko.models import metadata


def create_tables(db) -> None:
    """Inside an app context: the host's tables, then the kuroneko tables at head."""
    db.create_all()
    migrations.upgrade(db.engine)


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
