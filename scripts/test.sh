#!/usr/bin/env bash
# The test command of the README: one virtualenv, then the whole suite on SQLite, and again on
# PostgreSQL and MariaDB when they answer (KURONEKO_REQUIRE_ALL_DBS=1 makes a missing one fatal;
# CI sets it). Extra arguments go to pytest, e.g. `scripts/test.sh -k sandbox`.
#
# The server runs start together with the SQLite run (each pytest process works in a private
# database of its own, see tests/conftest.py): on a 2-core machine the three overlap their
# waits for the database servers instead of queueing. Their output is printed, whole, when
# each has finished; KURONEKO_SERIAL=1 runs them one after the other instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,postgres,mysql]'

PG_URL=${KURONEKO_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
MY_URL=${KURONEKO_TEST_MYSQL_URL:-mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4}

reachable() {
  .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys, sqlalchemy
sqlalchemy.create_engine(sys.argv[1]).connect().close()
PY
}

status=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A pids=()

server_run() {   # name url: the suite without the browser tests (database-independent)
  KURONEKO_TEST_DATABASE_URL=$2 .venv/bin/python -m pytest -m "not browser" -p no:cacheprovider \
    "${@:3}" >"$logs/$1.log" 2>&1
}

for pair in "PostgreSQL|$PG_URL" "MariaDB|$MY_URL"; do
  name=${pair%%|*}; url=${pair#*|}
  if reachable "$url"; then
    if [ "${KURONEKO_SERIAL:-0}" = 1 ]; then
      echo "=== $name"
      KURONEKO_TEST_DATABASE_URL=$url .venv/bin/python -m pytest -m "not browser" "$@" || status=1
    else
      server_run "$name" "$url" "$@" &
      pids[$name]=$!
    fi
  elif [ "${KURONEKO_REQUIRE_ALL_DBS:-0}" = 1 ]; then
    echo "=== $name: NOT REACHABLE at $url (required)"; status=1
  else
    echo "=== $name: not reachable at $url, skipped (set KURONEKO_REQUIRE_ALL_DBS=1 to require it)"
  fi
done

echo "=== SQLite"
KURONEKO_TEST_DATABASE_URL=sqlite .venv/bin/python -m pytest "$@" || status=1

for name in PostgreSQL MariaDB; do
  [ -n "${pids[$name]:-}" ] || continue
  rc=0
  wait "${pids[$name]}" || rc=$?
  echo "=== $name (exit $rc)"
  cat "$logs/$name.log"
  [ "$rc" = 0 ] || status=1
done
exit $status
