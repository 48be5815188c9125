"""Write the next revision of the kuroneko migrations from what changed in the models.

    .venv/bin/python scripts/new_migration.py "add jobs table"

Builds a throw-away SQLite database at the current head, lets Alembic's autogenerate compare
it with flask_kuroneko/models.py and writes flask_kuroneko/migrations/versions/NNNN_<slug>.py
with the next number as its revision id. A starting point, never the end: read
docs/migrations.md (data migrations, names, what autogenerate cannot see), then test the
revision on SQLite, PostgreSQL and MariaDB.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from flask_kuroneko.migrations import revisions, runner


def next_revision_id() -> str:
    script = revisions.script_directory()
    numbers = [int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def write_revision(message: str) -> Path | None:
    """The new revision file, or None when the models match the head (nothing written)."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{scratch}/head.sqlite")
        try:
            runner.upgrade(engine)
            if not runner.differences(engine):
                return None
            with engine.connect() as conn:
                script = command.revision(revisions.alembic_config(conn), message=message,
                                          autogenerate=True, rev_id=next_revision_id())
        finally:
            engine.dispose()
    return Path(script.path)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print(__doc__)
        return 2
    path = write_revision(argv[0].strip())
    if path is None:
        print("The models match the head revision: nothing to write.")
        return 1
    print(f"Wrote {path}\nReview it (docs/migrations.md), then run the migration tests on "
          "SQLite, PostgreSQL and MariaDB.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
