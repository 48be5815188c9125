"""scripts/new_migration.py, the developers' way to start a revision (docs/migrations.md):
nothing to write while the models match the head; after a model change, the next numbered
revision that brings a database to the models."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flask_kuroneko import migrations
from flask_kuroneko.migrations import revisions

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / "scripts" / "new_migration.py"
HEAD = migrations.head_revision()
NEXT = f"{int(HEAD) + 1:04d}"

# A developer's session in a scratch copy of the migrations: a column added to the models,
# the script run, the new revision applied to a fresh database.
SESSION = """
import sys
from pathlib import Path
import sqlalchemy as sa
from flask_kuroneko import models
from flask_kuroneko.migrations import revisions, runner
revisions.HERE = Path(sys.argv[1])
models.MODELS.Settings.__table__.append_column(
    sa.Column("drift_acknowledged_at", sa.DateTime, nullable=True))
sys.path.insert(0, sys.argv[2])
import new_migration
path = new_migration.write_revision("settings: drift acknowledged")
revisions.script_directory.cache_clear()
engine = sa.create_engine("sqlite:///" + sys.argv[3])
print(path.name, runner.upgrade(engine).after, runner.differences(engine))
"""


def load_script():
    spec = importlib.util.spec_from_file_location("new_migration", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nothing_is_written_while_the_models_match_the_head(capsys):
    script = load_script()
    assert script.next_revision_id() == NEXT
    files = sorted((revisions.HERE / "versions").glob("*.py"))
    assert script.write_revision("nothing") is None
    assert script.main(["nothing"]) == 1
    assert "nothing to write" in capsys.readouterr().out
    assert sorted((revisions.HERE / "versions").glob("*.py")) == files


@pytest.mark.skipif(os.environ.get("KURONEKO_TEST_DATABASE_URL", "sqlite") != "sqlite",
                    reason="runs on its own SQLite database: once, in the SQLite pass")
def test_a_model_change_becomes_the_next_revision(tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(revisions.HERE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-c", SESSION, str(copy), str(SCRIPT.parent), str(tmp_path / "t.db")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    name = f"{NEXT}_settings_drift_acknowledged.py"
    assert result.stdout.strip().splitlines()[-1] == f"{name} {NEXT} []"
    source = (copy / "versions" / name).read_text()
    assert f"revision = '{NEXT}'" in source and f"down_revision = '{HEAD}'" in source
    assert "batch_alter_table('kuroneko_settings'" in source
    assert "batch_op.add_column(sa.Column('drift_acknowledged_at'" in source
    assert "import flask_kuroneko" not in source and "from flask_kuroneko" not in source
    assert not (revisions.HERE / "versions" / name).exists()
