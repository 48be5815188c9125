"""Alembic environment of the kuroneko migrations (run by flask_kuroneko.migrations.runner).

The connection comes from the runner (``config.attributes["connection"]``): the host's engine,
the same database as the host's tables. Only the kuroneko_* tables are compared or changed,
and the revision lives in the extension's own version table, never in the host's
``alembic_version``.
"""
from __future__ import annotations

from alembic import context

from flask_kuroneko.migrations.runner import configure_context

configure_context(context)
