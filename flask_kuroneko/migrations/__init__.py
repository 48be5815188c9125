"""The extension's own schema migrations (Alembic), kept apart from the host's.

The kuroneko_* tables are created and changed only by the revisions in ``versions/``, with
their own version table (``kuroneko_alembic_version``): ``flask kuroneko db upgrade`` (or
``Kuroneko.upgrade_db()``) brings them to the revision this code needs, adopting a 0.1.0
install that has the tables but no version table. The admin and the worker refuse to run on
an out-of-date schema (:mod:`.status`).

A host on Flask-Migrate passes :func:`include_object` to ``Migrate(...)`` so that its own
autogenerate neither writes our tables into its history nor proposes to drop them.
How to write a revision: docs/migrations.md.
"""
from __future__ import annotations

from typing import Any

from .revisions import TABLE_PREFIX, VERSION_TABLE, current_revision, head_revision
from .runner import (UnrecognisedSchema, UpgradeResult, differences, downgrade, stamp,
                     upgrade)
from .status import SchemaOutOfDate, ensure_current, is_current

__all__ = ["SchemaOutOfDate", "TABLE_PREFIX", "UnrecognisedSchema", "UpgradeResult",
           "VERSION_TABLE", "current_revision", "differences", "downgrade", "ensure_current",
           "head_revision", "include_object", "is_current", "stamp", "upgrade"]


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic ``include_object`` for the HOST's migrations: leave out every kuroneko_* table
    (ours, and our version table), so ``flask db migrate`` neither creates nor drops them.

    ``Migrate(app, db, include_object=include_object)``; to combine it with a filter of your
    own: ``include_object=lambda *a: include_object(*a) and my_filter(*a)``.
    """
    if type_ == "table":
        return not (name or "").startswith(TABLE_PREFIX)
    table = getattr(obj, "table", None)
    table_name = getattr(table, "name", None) or ""
    return not table_name.startswith(TABLE_PREFIX)
