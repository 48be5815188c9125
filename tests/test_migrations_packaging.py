"""The revisions ship in the wheel: built from this checkout, installed on its own, the package
creates the tables from its migrations (not from files of the source tree)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from flask_kuroneko import migrations

ROOT = Path(__file__).parent.parent
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("KURONEKO_TEST_DATABASE_URL", "sqlite") != "sqlite",
                       reason="database-independent: runs once, in the SQLite pass"),
]

PROGRAM = """
import sys, sqlalchemy as sa, flask_kuroneko
from flask_kuroneko import migrations
assert flask_kuroneko.__file__.startswith(sys.argv[1]), flask_kuroneko.__file__
engine = sa.create_engine("sqlite:///" + sys.argv[2])
print(migrations.upgrade(engine).after, sorted(sa.inspect(engine).get_table_names()))
"""


def test_the_wheel_carries_every_migration_file_and_runs_them(tmp_path):
    # Built from a copy: an in-tree build would leave build/ (and stale files) in the checkout.
    checkout = tmp_path / "src"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".hypothesis", "instance",
        "test-artifacts", "node_modules"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(checkout)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("flask_kuroneko-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    source = ROOT / "flask_kuroneko" / "migrations"
    expected = {f"flask_kuroneko/migrations/{p.relative_to(source).as_posix()}"
                for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert "flask_kuroneko/migrations/versions/0001_baseline_0_1_0.py" in expected
    assert "flask_kuroneko/migrations/script.py.mako" in expected
    assert expected <= shipped

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(site), str(tmp_path / "shop.sqlite")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(site)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"{migrations.head_revision()} [")
    assert "'kuroneko_payments'" in result.stdout
