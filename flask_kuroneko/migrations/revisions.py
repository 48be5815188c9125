"""Where the shipped revisions are and which one a database is at (Alembic plumbing shared
by the runner and the status check)."""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..errors import ConfigurationError

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: Every table of the extension starts with this; the prefix is reserved for it.
TABLE_PREFIX = "kuroneko_"
#: The extension's own Alembic version table (the host's stays ``alembic_version``).
VERSION_TABLE = "kuroneko_alembic_version"
#: The revision a 0.1.0 install is stamped with.
BASELINE = "0001"


def alembic_config(connection: sa.engine.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """The shipped revisions (read once per process: they do not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:   # two revisions with the same down_revision: a merge left undone
        raise ConfigurationError(f"The kuroneko migrations have {len(heads)} heads "
                                 f"({', '.join(heads)}); give one of them the other as its "
                                 "down_revision (docs/migrations.md).")
    return heads[0]


def is_known(revision: str) -> bool:
    try:
        return script_directory().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def current_revision(connection: sa.engine.Connection) -> str | None:
    """The revision in the version table (None: no version table, or an empty one)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()
