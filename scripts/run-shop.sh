#!/usr/bin/env bash
# Run the example shop on the offline sandbox: one command on a fresh machine.
# Creates .venv when missing, installs the package (editable), then serves the shop on
# http://127.0.0.1:5000 (demo data and the SQLite database are created on first run, in
# example_shop's instance folder). Extra arguments go to `flask run`, e.g. `--port 8000`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
export FLASK_APP=example_shop
echo "クロネコ雑貨店 (example shop, sandbox): http://127.0.0.1:5000/  admin: /admin/ (password: admin)"
exec .venv/bin/flask --app example_shop run --host 127.0.0.1 --port 5000 "$@"
