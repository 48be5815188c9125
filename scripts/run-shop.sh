#!/usr/bin/env bash
# Run the example shop on the offline sandbox: one command on a fresh machine.
# Creates .venv when missing, installs the package (editable), creates the tables and the demo
# data on first run (SQLite in example_shop's instance folder), starts the sweep worker
# (SMS expiry, 審査中 polling, unknown outcomes) in the background and serves the shop on
# http://127.0.0.1:5000. Extra arguments go to `flask run`, e.g. `--port 8000`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
FLASK=".venv/bin/flask --app example_shop"
$FLASK init-db
PORT=5000
ARGS=("$@")
for i in "${!ARGS[@]}"; do
  case "${ARGS[$i]}" in
    --port=*) PORT="${ARGS[$i]#--port=}" ;;
    --port|-p) PORT="${ARGS[$((i + 1))]:-$PORT}" ;;
  esac
done
# Both run in the background so that stopping this script (Ctrl+C, or `kill` of its pid)
# stops the server and the worker with it.
$FLASK kuroneko worker --interval "${SHOP_SWEEP_INTERVAL:-30}" &
WORKER=$!
trap 'kill "$WORKER" ${SERVER:+"$SERVER"} 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The demo admin's password: the one set in the environment (never printed), else the default.
if [ -n "${SHOP_SHOP_ADMIN_PASSWORD:-}" ]; then
  ADMIN_HINT="password: the one in SHOP_SHOP_ADMIN_PASSWORD"
else
  ADMIN_HINT="password: admin"
fi
echo "クロネコ雑貨店 (example shop, sandbox): http://127.0.0.1:$PORT/  admin: /admin/ ($ADMIN_HINT)"
$FLASK run --host 127.0.0.1 --port 5000 "$@" &
SERVER=$!
wait "$SERVER"
