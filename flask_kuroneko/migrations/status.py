"""Is the database at the revision this code needs? Cheap enough for every admin request and
every worker loop: once an engine's database was seen current, the answer is kept for the
process (one query of the version table until then).

A process that started on a current schema keeps running while another one upgrades (the
revisions add before they remove, docs/migrations.md); after a *downgrade* restart the other
processes.
"""
from __future__ import annotations

import logging
import threading
import weakref

import sqlalchemy as sa

from ..errors import SchemaOutOfDate
from .revisions import VERSION_TABLE, head_revision, is_known

logger = logging.getLogger(__name__)

_current: "weakref.WeakSet[sa.engine.Engine]" = weakref.WeakSet()
_lock = threading.Lock()


def read_revision(engine: sa.engine.Engine) -> str | None:
    """The revision in the version table (None when there is none): one query, on a
    connection of its own, so the caller's transaction is never touched (a failed read would
    abort it on PostgreSQL)."""
    with engine.connect() as conn:
        try:
            rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        except sa.exc.DBAPIError:
            conn.rollback()
            if sa.inspect(conn).has_table(VERSION_TABLE):
                raise           # the table is there: a real error, not an old schema
            return None
    return rows[0] if len(rows) == 1 else None


def ensure_current(engine: sa.engine.Engine) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database is at the head revision."""
    if engine in _current:
        return
    head = head_revision()
    revision = read_revision(engine)
    if revision != head:
        known = revision is None or is_known(revision)
        raise SchemaOutOfDate(revision, head, known=known)
    with _lock:
        _current.add(engine)


def is_current(engine: sa.engine.Engine) -> bool:
    try:
        ensure_current(engine)
    except SchemaOutOfDate:
        return False
    return True


def forget(engine: sa.engine.Engine) -> None:
    """Check again next time (called by every command that changes the revision)."""
    with _lock:
        _current.discard(engine)

