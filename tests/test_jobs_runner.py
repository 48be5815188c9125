"""The embedded runner: `flask kuroneko worker` runs queued jobs between two sweeps (nothing
else to install), resumes a job whose runner died, and survives a failing job run."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko.jobs import runner, store
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from jobs_support import authorized, issued_file, items, ship, slips
from service_support import OTHER, models
from test_jobs_store import dead_owner


def worker(app, *args):
    return app.test_cli_runner().invoke(args=["kuroneko", "worker", *args])


def test_the_worker_runs_a_queued_job_between_sweeps(app, kuroneko, shop):
    from flask_kuroneko import jobs
    paid = authorized(kuroneko, shop, 3)
    numbers = slips()
    job = jobs.start_b2_import(issued_file([(p.order_no, next(numbers)) for p in paid]),
                               filename="i.csv", actor="admin")
    assert job.runner == "worker" and job.state == "queued"
    job_id = job.id            # the worker ends the session this test shares with it
    app.config["KURONEKO_JOBS_POLL_INTERVAL"] = 1
    result = worker(app, "--interval", "2", "--max-runs", "2")
    assert result.exit_code == 0, result.output
    assert result.output.count("kuroneko sweep:") == 2
    job = store.get_job(job_id)
    assert job.state == "done" and {i.outcome for i in items(job)} == {"captured"}


def test_the_worker_takes_over_the_items_of_a_dead_runner(app, kuroneko, shop):
    save_settings({"other_carrier_enabled": True})
    [p] = authorized(kuroneko, shop)
    job = kuroneko.start_bulk_ship([ship(p, OTHER)])
    token, ids = store.claim(job.id, 1)
    I = models().JobItem
    simple_shop.db.session.execute(sa.update(I).where(I.id == ids[0]).values(claimed_by=dead_owner()))
    simple_shop.db.session.commit()
    job_id = job.id
    assert runner.runnable_job() == job_id
    app.config["KURONEKO_JOBS_POLL_INTERVAL"] = 1
    assert worker(app, "--interval", "1", "--max-runs", "2").exit_code == 0
    [item] = items(store.get_job(job_id))
    assert item.outcome == "captured" and item.attempts == 2


def test_jobs_run_even_when_the_sweep_overruns_its_interval(app, kuroneko, shop, simulator):
    """A sweep slower than the interval (here: Yamato answers the status sync in 1.5 s, the
    interval is 1 s) still leaves the jobs their slice (cli.JOB_SLICE_FLOOR): no starvation."""
    save_settings({"other_carrier_enabled": True})
    [p] = authorized(kuroneko, shop)
    job_id = kuroneko.start_bulk_ship([ship(p, OTHER)]).id
    P = models().Payment
    simple_shop.db.session.execute(sa.update(P).values(synced_at=None))   # due for the sync
    simple_shop.db.session.commit()
    simulator.inject_fault("latency", operation="KAAST0010", seconds=1.5)
    app.config["KURONEKO_JOBS_POLL_INTERVAL"] = 1
    result = worker(app, "--interval", "1", "--max-runs", "2")
    assert result.exit_code == 0, result.output
    assert "synced=1" in result.output.replace(" ", ""), result.output   # the slow sync ran
    [item] = items(store.get_job(job_id))
    assert item.outcome == "captured"


def test_a_failing_job_run_does_not_stop_the_worker(app, db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(runner, "work", broken)
    result = worker(app, "--interval", "1", "--max-runs", "2")
    assert result.exit_code == 0 and result.output.count("kuroneko sweep:") == 2


def test_without_jobs_the_worker_only_waits(app, db):
    assert runner.runnable_job() is None
    result = worker(app, "--interval", "1", "--max-runs", "2")
    assert result.exit_code == 0
