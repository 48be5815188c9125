"""Helpers of the tests that run the shop's other processes for real: `flask kuroneko …`
commands and tests/crash_worker.py, sharing the database and the sandbox state file
(KURONEKO_SANDBOX_STATE) with the test process, as cron, `flask kuroneko worker` or a second
web process would in production. The shared host app is conftest's ``process_shop``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from flask_kuroneko.models import utcnow
from flask_kuroneko.payments import journal
from hosts import simple_shop

TESTS = Path(__file__).parent


def child_env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH")])))


def app_target(database_url: str, state_file: str) -> str:
    return (f"hosts.simple_shop:create_app({database_url!r}, "
            f"KURONEKO_SANDBOX_STATE={state_file!r})")


def flask_cli(database_url: str, state_file: str, *args: str) -> subprocess.CompletedProcess:
    """`flask --app hosts.simple_shop:create_app(...) <args>` in a new Python process."""
    return subprocess.run([sys.executable, "-m", "flask", "--app",
                           app_target(database_url, state_file), *args],
                          cwd=TESTS.parent, env=child_env(), capture_output=True, text=True,
                          timeout=120, check=False)


def crash(database_url: str, state_file: str, moment: str, api: str, operation: str,
          *args: object) -> None:
    """Run ``operation`` in tests/crash_worker.py, killed with SIGKILL ``before`` the request
    for ``api`` is sent or ``after`` Yamato answered it (before our commit)."""
    simple_shop.db.session.remove()          # this process holds nothing meanwhile
    result = subprocess.run(
        [sys.executable, str(TESTS / "crash_worker.py"), database_url, state_file, moment, api,
         operation, *map(str, args)],
        cwd=TESTS.parent, env=child_env(), capture_output=True, text=True, timeout=120,
        check=False)
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-3000:])


def time_passes(minutes: int = 5) -> None:
    """The journal's waits (grace before looking up a lost KAARA0010, retry backoff) are over:
    the command uses the real clock, so move the schedule instead of the clock."""
    Op = simple_shop.kuroneko.models.Operation
    simple_shop.db.session.execute(
        sa.update(Op).where(Op.state.in_(journal.OPEN_STATES))
        .values(next_attempt_at=utcnow() - timedelta(minutes=minutes)))
    simple_shop.db.session.commit()
