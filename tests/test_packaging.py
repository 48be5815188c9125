"""A package people can install: ``python -m build`` makes a wheel and an sdist; the wheel,
installed into a fresh virtualenv from local files only (``--no-index``), runs the
quickstart's payment through the sandbox and renders the extension's templates.

The dependencies come from a wheelhouse next to the build (test-artifacts/wheelhouse,
filled once by ``pip download`` from the package index, then reused), so the fresh
environment installs exactly what the wheel's metadata asks for and nothing from the repo.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import docs_support
import flask_kuroneko

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("KURONEKO_TEST_DATABASE_URL", "sqlite") != "sqlite",
                       reason="database-independent: runs once, in the SQLite pass"),
]

ROOT = docs_support.ROOT
WHEELHOUSE = ROOT / "test-artifacts" / "wheelhouse"
VERSION = flask_kuroneko.__version__

RUN_QUICKSTART = r'''
import json, sys
from datetime import datetime, timezone
import flask_kuroneko
from flask_kuroneko import rules
import shop

app = shop.create_app()
result = app.test_cli_runner().invoke(args=["kuroneko", "init-db"])
assert result.exit_code == 0, result.output

@shop.kuroneko.admin_guard
def everyone():
    return None

with app.app_context():
    shop.db.create_all()
    invoice = next(m for m in rules.list_methods() if m.kind == "invoice")
    order = shop.Order(created=datetime.now(timezone.utc).replace(tzinfo=None), items=[["お茶", 2, 1500]],
                       buyer={"name": "山田 太郎", "postal_code": "100-0001", "prefecture": "東京都",
                              "address1": "千代田区千代田1-1", "phone": "03-1234-5678"})
    shop.db.session.add(order)
    shop.db.session.flush()
    outcome = shop.kuroneko.start_payment(order, invoice.id)
    payment_id = outcome.payment.id
    kind = str(outcome.kind.value)
client = app.test_client()
settings = client.get("/admin/kuroneko/settings")
dialog = client.get(f"/admin/kuroneko/payments/{payment_id}")
print(json.dumps({"kind": kind, "version": flask_kuroneko.__version__,
                  "module": flask_kuroneko.__file__,
                  "settings": [settings.status_code, "クロネコ代金後払いの設定を更新する" in settings.text],
                  "dialog": [dialog.status_code, "決済情報" in dialog.text]}))
'''


def _run(*args: str, cwd: Path | None = None, env: dict | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel built by ``python -m build`` from a copy of the checkout (a build in
    the tree would leave its egg-info and build/ behind)."""
    checkout = tmp_path_factory.mktemp("src") / "flask-kuroneko"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
        "instance", "test-artifacts", "node_modules"))
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", str(out), str(checkout), timeout=900)
    return out


def test_the_wheel_holds_the_package_templates_and_types(dist):
    [wheel] = dist.glob("*.whl")
    assert wheel.name == f"flask_kuroneko-{VERSION}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("flask_kuroneko/py.typed", "flask_kuroneko/testing/plugin.py",
                   "flask_kuroneko/templates/kuroneko/checkout/sms.html",
                   "flask_kuroneko/templates/kuroneko/admin/settings.html",
                   "flask_kuroneko/sandbox/templates/sandbox/index.html"):
        assert needed in names, needed
    assert {n.split("/")[0] for n in names} == {"flask_kuroneko",
                                                 f"flask_kuroneko-{VERSION}.dist-info"}
    metadata = zipfile.ZipFile(wheel).read(
        f"flask_kuroneko-{VERSION}.dist-info/METADATA").decode()
    assert f"Version: {VERSION}\n" in metadata
    assert "Requires-Dist: flask>=2.3" in metadata


def test_the_sdist_holds_docs_changelog_example_shop_and_tests(dist):
    [sdist] = dist.glob("*.tar.gz")
    names = tarfile.open(sdist).getnames()
    top = f"flask_kuroneko-{VERSION}"
    for needed in ("CHANGELOG.md", "README.md", "docs/integration.md", "example_shop/views.py",
                   "example_shop/static/shop.css", "tests/conftest.py",
                   "flask_kuroneko/templates/kuroneko/admin/payment.html"):
        assert f"{top}/{needed}" in names, needed
    assert not [n for n in names if "node_modules" in n or n.endswith((".pyc", ".sqlite"))]


def test_the_changelog_names_the_version():
    assert f"## {VERSION}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "version = attr: flask_kuroneko.__version__" in (ROOT / "setup.cfg").read_text()


def test_the_wheel_installs_in_a_fresh_venv_and_runs_the_quickstart(dist, tmp_path):
    [wheel] = dist.glob("*.whl")
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    for old in WHEELHOUSE.glob("flask_kuroneko-*"):
        old.unlink()
    # The dependencies, as wheels, once (the index is only asked for what is missing).
    _run(sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(WHEELHOUSE),
         "--find-links", str(WHEELHOUSE), str(wheel))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    python = venv / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
         str(dist), "--find-links", str(WHEELHOUSE), f"flask-kuroneko=={VERSION}")
    project = tmp_path / "project"
    project.mkdir()
    (project / "shop.py").write_text(docs_support.quickstart().code, encoding="utf-8")
    (project / "run.py").write_text(RUN_QUICKSTART, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = _run(str(python), "run.py", cwd=project, env=env)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["kind"] == "authorized"
    assert answer["version"] == VERSION
    assert answer["module"].startswith(str(venv)), answer["module"]     # not this checkout
    assert answer["settings"] == [200, True] and answer["dialog"] == [200, True]
