"""Bulk jobs on the shop's own Celery: a real Celery worker process (threads pool, two
chunk tasks at once) against the Redis on 127.0.0.1:6379, sharing the database and the
sandbox state file with the test process that creates the job — the same results and the same
exactly-once guarantee as the embedded worker. One small job, to keep CI short."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from flask_kuroneko.jobs import store
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from jobs_support import authorized, history_ok, items, ship, yamato_events
from process_support import TESTS, child_env
from service_support import OTHER, setup_shop

pytestmark = pytest.mark.slow
BROKER = "redis://127.0.0.1:6379/0"


def redis_or_skip():
    try:
        import redis
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except Exception as exc:           # CI (.ci/run) starts redis-server when it is down
        if os.environ.get("KURONEKO_REQUIRE_ALL_DBS") == "1":
            pytest.fail(f"Redis is required (KURONEKO_REQUIRE_ALL_DBS=1): {exc}")
        pytest.skip(f"Redis not reachable at {BROKER}: {exc}")


@pytest.fixture
def celery_world(process_shop, database_url, tmp_path):
    redis_or_skip()
    from hosts.celery_shop import make_celery
    app, state_file = process_shop
    queue = f"kuroneko-test-{os.getpid()}-{secrets.token_hex(3)}"
    app.config.update(KURONEKO_JOBS_CHUNK_SIZE=3, KURONEKO_JOBS_CELERY_CHUNKS=2)
    celery_app = make_celery(app, queue)
    simple_shop.kuroneko.init_celery(celery_app)
    env = dict(child_env(), KURONEKO_CELERY_DB=database_url, KURONEKO_CELERY_STATE=state_file,
               KURONEKO_CELERY_QUEUE=queue, KURONEKO_CELERY_CHUNK="3",
               KURONEKO_CELERY_BROKER=BROKER)
    log = tmp_path / "celery.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hosts.celery_shop", "worker", "--pool=threads",
         "--concurrency=2", "-Q", queue, "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--loglevel=INFO", f"--logfile={log}"],
        cwd=TESTS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield {"app": app, "worker": worker, "log": log, "ids": setup_shop(other_carrier=True),
               "simulator": simple_shop.kuroneko.simulator}
    finally:
        simple_shop.kuroneko.celery_app = None     # the host object is shared by every test
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        import redis
        redis.Redis.from_url(BROKER).delete(queue, f"_kombu.binding.{queue}",
                                            f"_kombu.binding_permanent.{queue}")


def wait_done(job_id: int, worker, log, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        simple_shop.db.session.expire_all()
        job = store.get_job(job_id)
        simple_shop.db.session.rollback()
        if job.state == "done":
            return job
        assert worker.poll() is None, log.read_text()[-3000:]
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not done: {log.read_text()[-3000:]}")


def test_a_celery_worker_runs_a_bulk_job_in_chunks_each_order_once(celery_world):
    save_settings({"other_carrier_enabled": True})
    paid = authorized(simple_shop.kuroneko, celery_world["ids"], 8)
    ids = [ship(p, OTHER) for p in paid]
    expected = [(p.id, p.order_no) for p in paid]
    celery_world["simulator"].inject_fault("latency", operation="KAASL0010", seconds=0.1,
                                           times=None)
    job = simple_shop.kuroneko.start_bulk_ship(ids + ["424242"], actor="celery-test")
    assert job.runner == "celery" and job.dispatched_at is not None
    job = wait_done(job.id, celery_world["worker"], celery_world["log"])
    got = Counter(i.outcome for i in items(job))
    assert got == {"captured": 8, "skipped": 1}
    for payment_id, order_no in expected:
        assert yamato_events(celery_world["simulator"], order_no)["slip_registered"] == 1
        assert history_ok(payment_id) == 1
    runners = {i.finished_by.split(":")[1] for i in items(job)}
    assert runners == {str(celery_world["worker"].pid)}       # all done by the Celery worker
    text = celery_world["log"].read_text()
    assert text.count("flask_kuroneko.jobs.run_chunk") >= 3    # 9 items in chunks of 3
