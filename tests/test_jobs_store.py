"""Job items claimed exactly once (one conditional UPDATE), taken over from a dead runner,
two runners on one job, 中止 and 失敗分を再実行, counts and the job's states. On SQLite,
PostgreSQL and MariaDB (KURONEKO_TEST_DATABASE_URL)."""
from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from flask_kuroneko import jobs
from flask_kuroneko.errors import JobNotFound
from flask_kuroneko.jobs import engine, store
from flask_kuroneko.jobs.outcomes import JobKind, Outcome
from flask_kuroneko.jobs.store import ItemSpec
from flask_kuroneko.payments import journal
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from jobs_support import authorized, history_ok, items, run, ship, yamato_events
from service_support import OTHER, models, rows


def plain_job(count: int, **params):
    """A bulk_ship job over ids the host does not know (items end as skipped, no Yamato)."""
    return store.create(JobKind.BULK_SHIP, [ItemSpec(key=f"x{i}", host_order_id=f"x{i}")
                                            for i in range(count)],
                        created_by="test", params=params, runner="worker")


def dead_owner() -> str:
    """A claim token of a process of this host that has exited."""
    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True).stdout)
    host, _, token = journal.claimant("job").split(":", 2)
    return f"{host}:{pid}:{token}"


def test_claims_never_hand_one_item_to_two_runners(app, db):
    job = plain_job(40)
    won: list[list[int]] = []
    barrier = threading.Barrier(4)

    def claimer():
        with app.app_context():
            barrier.wait()
            mine = []
            while True:
                _, ids = store.claim(job.id, 3)
                if not ids and not _pending(job.id):
                    break
                mine += ids
            won.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = [i for mine in won for i in mine]
    assert sorted(claimed) == sorted(i.id for i in items(job))      # each once, none lost
    assert len(claimed) == len(set(claimed)) == 40


def _pending(job_id: int) -> int:
    I = models().JobItem
    n = simple_shop.db.session.scalar(sa.select(sa.func.count(I.id)).where(
        I.job_id == job_id, I.state == "pending"))
    simple_shop.db.session.rollback()
    return n


def test_a_dead_runners_items_are_taken_over_at_once_a_live_ones_are_not(app, db):
    job = plain_job(3)
    token, ids = store.claim(job.id, 3)
    assert len(ids) == 3
    I = models().JobItem
    gone = dead_owner()
    db.session.execute(sa.update(I).where(I.id == ids[0]).values(claimed_by=gone))
    db.session.commit()
    stale = store.stale_items(job.id)
    assert stale == [(ids[0], gone)]               # ours (alive, not expired) are not stale
    new_token, taken = store.reclaim(stale)
    assert taken == [ids[0]]
    assert store.reclaim(stale)[1] == []           # the second taker loses
    item = store.load_item(ids[0])
    assert item.claimed_by == new_token and item.attempts == 2


def test_two_runners_on_one_job_capture_each_order_once(app, kuroneko, shop, simulator, calls):
    save_settings({"other_carrier_enabled": True})
    paid = authorized(kuroneko, shop, 10)
    ids = [ship(p, OTHER) for p in paid]
    simulator.inject_fault("latency", operation="KAASL0010", seconds=0.1, times=None)
    job = kuroneko.start_bulk_ship(ids)
    calls.reset()
    barrier = threading.Barrier(2)
    reports = []

    def runner():
        with app.app_context():
            barrier.wait()
            reports.append(jobs.run_job(job.id, concurrency=3))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    simple_shop.db.session.rollback()
    assert sum(r.processed for r in reports) == 10
    assert {i.outcome for i in items(job)} == {"captured"}
    assert calls["KAASL0010"] == 10
    for p in paid:
        assert history_ok(p.id) == 1
        assert yamato_events(simulator, p.order_no)["slip_registered"] == 1
    assert store.get_job(job.id).state == "done"


def db_order(payment):
    return simple_shop.db.session.get(simple_shop.ShopOrder, int(payment.host_order_id))


def test_cancel_stops_items_not_started(app, db):
    job = plain_job(5)
    token, ids = store.claim(job.id, 2)           # two in flight
    assert jobs.cancel(job.id, actor="admin") == 3
    got = Counter(i.outcome or i.state for i in items(job))
    assert got == {"cancelled": 3, "running": 2}
    assert store.get_job(job.id).state == "cancelled"
    assert store.claim(job.id, 5)[1] == []          # nothing more is claimed
    assert jobs.cancel(job.id) is None              # twice: nothing to cancel
    for item_id in ids:                             # the running ones finish normally
        store.finish(item_id, token, store.ItemResult(Outcome.SKIPPED, "x"))
    assert store.finalize(job.id)
    job = store.get_job(job.id)
    assert job.state == "cancelled" and job.finished_at is not None and job.cancelled_by == "admin"


def test_retry_failed_requeues_only_errors(app, db):
    job = plain_job(3)
    token, ids = store.claim(job.id, 3)
    store.finish(ids[0], token, store.ItemResult(Outcome.ERROR, "boom", code="err0001"))
    store.finish(ids[1], token, store.ItemResult(Outcome.SKIPPED, "no"))
    store.finish(ids[2], token, store.ItemResult(Outcome.ERROR, "boom"))
    assert store.finalize(job.id) and store.get_job(job.id).state == "done"
    assert jobs.retry_failed(job.id) == 2
    job = store.get_job(job.id)
    assert job.state == "queued" and job.finished_at is None
    got = {i.id: (i.state, i.outcome, i.attempts) for i in items(job)}
    assert got[ids[0]] == ("pending", None, 0) and got[ids[1]][1] == "skipped"
    assert jobs.retry_failed(job.id) == 0


def test_a_job_with_nothing_to_run_is_born_done(app, db):
    job = store.create(JobKind.B2_IMPORT, [ItemSpec(key="k", outcome=Outcome.UNKNOWN_ORDER,
                                                    message="m")],
                       created_by="t", params={}, runner="worker")
    assert job.state == "done" and job.finished_at is not None
    assert jobs.progress(job)["percent"] == 100 and jobs.progress(job)["finished"]


def test_an_item_that_keeps_crashing_its_runner_ends_as_an_error(app, db):
    job = plain_job(1)
    I = models().JobItem
    db.session.execute(sa.update(I).values(attempts=engine.MAX_ATTEMPTS))
    db.session.commit()
    job = run(job)
    [item] = items(job)
    assert (item.outcome, item.code) == ("error", "interrupted")


def test_an_item_whose_handler_fails_unexpectedly_is_an_error_and_the_job_goes_on(
        app, db, monkeypatch):
    job = plain_job(3)
    calls = []

    def handler(item, token):
        calls.append(item.seq)
        if item.seq == 2:
            raise RuntimeError("host hook exploded")
        return store.ItemResult(Outcome.SKIPPED, "ok")

    monkeypatch.setitem(engine.HANDLERS, JobKind.BULK_SHIP.value, handler)
    job = run(job)
    got = {i.seq: (i.outcome, i.code) for i in items(job)}
    assert got == {1: ("skipped", None), 2: ("error", "internal"), 3: ("skipped", None)}
    assert "RuntimeError" in [i for i in items(job) if i.seq == 2][0].message
    assert sorted(calls) == [1, 2, 3]


def test_counts_and_progress(app, db):
    job = plain_job(4)
    token, ids = store.claim(job.id, 2)
    store.finish(ids[0], token, store.ItemResult(Outcome.CAPTURED, "ok"))
    p = jobs.progress(store.get_job(job.id))
    assert (p["done"], p["total"], p["percent"], p["running"], p["pending"]) == (1, 4, 25, 1, 2)
    assert p["groups"] == {"captured": 1, "skipped": 0, "error": 0} and not p["finished"]


@pytest.mark.parametrize("bad", [-1, 0, 2**40])
def test_unknown_job_ids(app, db, bad):
    with pytest.raises(JobNotFound):
        jobs.run_job(bad if bad > 0 else 999999)
    assert rows(models().Job) == []
