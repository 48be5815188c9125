"""A job runner process that dies (SIGKILL) in the middle of a job.

    python tests/job_crash_worker.py DATABASE_URL STATE_FILE JOB_ID KILL_AFTER

It builds the simple_shop host on the shared database and sandbox state file, wraps the
sandbox transport so that the process kills itself right after the KILL_AFTER-th answer to a
shipment registration (KAASL0010) arrived — with other requests of the job still in flight and
that answer not yet committed — and runs the job with 4 threads. Nothing of our own code is
replaced: the crash is injected in the transport, as a power cut or an OOM kill would strike.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from flask_kuroneko import jobs  # noqa: E402
from flask_kuroneko.sandbox.adapter import SandboxAdapter  # noqa: E402
from hosts import simple_shop  # noqa: E402


def arm(kill_after: int) -> None:
    original = SandboxAdapter.send
    lock = threading.Lock()
    answered = [0]

    def send(self, request, *args, **kwargs):
        response = original(self, request, *args, **kwargs)
        if "KAASL0010" in request.url:
            with lock:
                answered[0] += 1
                if answered[0] >= kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)
        return response

    SandboxAdapter.send = send


def main() -> None:
    database_url, state_file, job_id, kill_after = sys.argv[1:]
    app = simple_shop.create_app(database_url, KURONEKO_SANDBOX_STATE=state_file)
    arm(int(kill_after))
    with app.app_context():
        jobs.run_job(int(job_id), concurrency=4)
    sys.exit(3)            # the crash did not happen: the test fails on this exit code


if __name__ == "__main__":
    main()
