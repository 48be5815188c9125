"""Bulk 売上確定 through a job: N captures («B2出荷データ取込» of an issued file with N rows) in
the example shop against the sandbox with injected Yamato latency on every shipment
registration, at KURONEKO_BULK_CONCURRENCY; compared with the time bound N×latency/concurrency
and with one-by-one captures (how per-order plugins do it inside the admin's request).

    .venv/bin/python bench/bulk_capture.py [--orders 1000] [--latency 0.2] [--concurrency 8]
                                          [--sample 40] [--celery] [--database URL]

The sandbox is a stand-alone server in a process of its own (threaded, on a real socket), so
the latency is spent in parallel and Yamato's work is not on the shop's CPU, as in production; with ``--celery`` the job runs on a real Celery worker process
(threads pool, Redis on 127.0.0.1:6379) instead of the embedded runner. The last line prints
the wall time, the bound, ``ratio`` = wall/bound (goal ≤ 1.25) and the speed-up against one by
one (goal ≥ 6x). Ratios, not absolute claims: the machine is shared.
"""
from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from example_shop import create_app, db  # noqa: E402
from example_shop.models import Order, OrderItem  # noqa: E402
from flask_kuroneko import jobs, payments  # noqa: E402
from flask_kuroneko.yamato.tracking import with_check_digit  # noqa: E402

BROKER = "redis://127.0.0.1:6379/0"


def shop_config(database: str, sandbox_url: str, concurrency: int) -> dict:
    return {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database,
            "SHOP_SANDBOX_MOUNT": None, "SHOP_SHARED_SANDBOX": False,
            "KURONEKO_SANDBOX_URL": sandbox_url, "KURONEKO_BULK_CONCURRENCY": concurrency,
            "KURONEKO_TIMEOUT": 30.0, "KURONEKO_JOBS_CHUNK_SIZE": 100,
            "KURONEKO_JOBS_CELERY_CHUNKS": 1}


def sandbox_server_main() -> None:
    """``--sandbox-server``: the simulator as a stand-alone threaded HTTP server in a process
    of its own (Yamato's work is not on the shop's CPU); prints its URL, serves until killed."""
    logging.disable(logging.WARNING)
    from werkzeug.serving import WSGIRequestHandler, make_server

    from flask_kuroneko.sandbox import Simulator, create_app as sandbox_app

    class KeepAlive(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"        # pooled connections, as with Yamato's servers

    server = make_server("127.0.0.1", 0, sandbox_app(simulator=Simulator()), threaded=True,
                         request_handler=KeepAlive)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


def serve_sandbox():
    """Start the sandbox process; returns (url, stop)."""
    process = subprocess.Popen([sys.executable, __file__, "--sandbox-server"],
                               stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        raise SystemExit("the sandbox server did not start")

    def stop() -> None:
        process.terminate()
        process.wait(10)
    return url, stop


def inject_latency(sandbox_url: str, seconds: float) -> None:
    import requests
    response = requests.post(f"{sandbox_url}/_sim/faults", timeout=10, json={
        "kind": "latency", "operation": "KAASL0010", "seconds": seconds, "times": None})
    response.raise_for_status()


def tune_sqlite() -> None:
    """SQLite as a shop running on it should configure it (WAL, synchronous=NORMAL): with
    the default rollback journal every commit waits for an fsync while holding the file's one
    write lock, and the bench would measure the disk, not the job."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    def pragmas(connection, record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sa.event.listen(engine, "connect", pragmas)
    engine.dispose()


def authorized_orders(count: int) -> list:
    """``count`` 与信 payments of 宅急便 orders, each with a buyer of its own."""
    models = db.metadata  # noqa: F841  (tables exist: create_app made them)
    from example_shop.extensions import kuroneko
    method = next(m for m in db.session.scalars(db.select(kuroneko.models.PaymentMethod))
                  if m.kind == "invoice")
    paid = []
    for n in range(count):
        order = Order(name="山田 太郎", name_kana="ヤマダ タロウ", email="taro@example.com",
                      phone=f"03-{4000 + n // 9000:04d}-{n % 9000:04d}", postal_code="100-0001",
                      prefecture="東京都", address1="千代田区千代田1-1", delivery_method="takkyubin",
                      shipping_fee=800, payment_method=f"kuroneko:{method.id}",
                      payment_name=method.name, payment_fee=0, total=3300, status="新規受付",
                      checkout_done=True)
        order.items = [OrderItem(name="有田焼 マグカップ", kind="physical", unit_price=2500,
                                 quantity=1)]
        db.session.add(order)
        db.session.flush()
        outcome = kuroneko.start_payment(order, method.id)
        if outcome.kind != "authorized":
            raise SystemExit(f"order {n} not authorized: {outcome}")
        db.session.commit()
        paid.append(outcome.payment.order_no)
    return paid


def issued_file(order_nos: list[str], first: int) -> tuple[bytes, list[str]]:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    numbers = [with_check_digit(f"{first + i:011d}") for i in range(len(order_nos))]
    for key, number in zip(order_nos, numbers):
        row = [""] * 97
        row[0], row[1], row[3] = key, "0", number
        writer.writerow(row)
    return out.getvalue().encode("cp932"), numbers


def one_by_one(order_nos: list[str], first: int) -> float:
    """Seconds per capture when each order is captured on its own, one after the other."""
    numbers = [with_check_digit(f"{first + i:011d}") for i in range(len(order_nos))]
    started = time.perf_counter()
    for order_no, number in zip(order_nos, numbers):
        payment = payments.payment_by_order_no(order_no)
        payments.capture(payment.id, carrier="クロネコヤマト", tracking_no=number)
    return (time.perf_counter() - started) / len(order_nos)


def start_celery_worker(database: str, sandbox_url: str, concurrency: int, queue: str):
    env = dict(os.environ, BENCH_CELERY_DB=database, BENCH_CELERY_SANDBOX=sandbox_url,
               BENCH_CELERY_QUEUE=queue, BENCH_CELERY_CONCURRENCY=str(concurrency))
    return subprocess.Popen([sys.executable, __file__, "--celery-worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_celery(app, queue: str):
    from celery import Celery, Task

    class FlaskTask(Task):                 # Flask's "Background Tasks with Celery" pattern
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery("bench", task_cls=FlaskTask)
    celery_app.conf.update(broker_url=BROKER, task_ignore_result=True, task_default_queue=queue,
                           broker_connection_retry_on_startup=True, task_acks_late=True,
                           worker_prefetch_multiplier=1)
    return celery_app


def celery_worker_main() -> None:
    """``--celery-worker``: the Celery worker process of ``--celery`` (same shop, same sandbox)."""
    logging.disable(logging.WARNING)
    app = create_app(shop_config(os.environ["BENCH_CELERY_DB"], os.environ["BENCH_CELERY_SANDBOX"],
                                 int(os.environ["BENCH_CELERY_CONCURRENCY"])))
    from example_shop.extensions import kuroneko
    with app.app_context():
        tune_sqlite()
    celery_app = make_celery(app, os.environ["BENCH_CELERY_QUEUE"])
    kuroneko.init_celery(celery_app)
    celery_app.worker_main(["worker", "--pool=threads", "--concurrency=2", "--without-gossip",
                            "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
                            "-Q", os.environ["BENCH_CELERY_QUEUE"]])


def wait_done(job_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = jobs.get_job(job_id)
        db.session.rollback()
        if job.state == "done":
            return
        time.sleep(0.1)
    raise SystemExit(f"job {job_id} not done after {timeout:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per KAASL0010")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sample", type=int, default=40, help="one-by-one captures measured")
    parser.add_argument("--celery", action="store_true", help="run the job on a Celery worker")
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite file)")
    parser.add_argument("--celery-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.celery_worker:
        celery_worker_main()
        return
    if args.sandbox_server:
        sandbox_server_main()
        return
    logging.disable(logging.WARNING)
    sandbox_url, stop_sandbox = serve_sandbox()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/bench.sqlite"
        app = create_app(shop_config(database, sandbox_url, args.concurrency))
        queue = f"kuroneko-bench-{secrets.token_hex(3)}"
        worker = None
        with app.app_context():
            from example_shop.extensions import kuroneko
            tune_sqlite()
            print(f"authorizing {args.orders + args.sample} orders …", file=sys.stderr)
            paid = authorized_orders(args.orders + args.sample)
            bulk, sample = paid[:args.orders], paid[args.orders:]
            inject_latency(sandbox_url, args.latency)
            per_order = one_by_one(sample, first=90000000000) if sample else float("nan")
            if args.celery:
                kuroneko.init_celery(make_celery(app, queue))
                worker = start_celery_worker(database, sandbox_url, args.concurrency, queue)
                # a running worker, as in production: a one-item job first (nothing to capture)
                warm_up = jobs.start_bulk_ship(["not-an-order"], actor="bench")
                wait_done(warm_up.id, timeout=60)
            data, _ = issued_file(bulk, first=45000000000)
            started, cpu_started = time.perf_counter(), time.process_time()
            job = jobs.start_b2_import(data, filename="bench.csv", actor="bench")
            if args.celery:
                wait_done(job.id, timeout=args.orders * args.latency * 4 + 60)
            else:
                jobs.run_job(job.id, until_finished=True)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            job = jobs.get_job(job.id)
            progress = jobs.progress(job)
            captured = progress["outcomes"].get("captured", 0)
        if worker is not None:
            worker.terminate()
            worker.wait(30)
            import redis
            redis.Redis.from_url(BROKER).delete(queue, f"_kombu.binding.{queue}",
                                                f"_kombu.binding_permanent.{queue}")
    stop_sandbox()
    if captured != args.orders:
        raise SystemExit(f"only {captured} of {args.orders} captured: {progress['outcomes']}")
    bound = args.orders * args.latency / args.concurrency
    speedup = per_order * args.orders / wall
    runner = "celery" if args.celery else "worker"
    backend = sa.engine.make_url(database).get_backend_name()
    print(f"one by one: {per_order * 1000:.0f} ms per capture (sample of {args.sample}); "
          f"this process used {cpu:.1f}s of CPU during the job ({cpu / args.orders * 1000:.1f} ms "
          "per capture; the bound assumes it is not the limit)")
    print(f"bulk_capture: N={args.orders} latency={args.latency * 1000:.0f}ms "
          f"concurrency={args.concurrency} runner={runner} db={backend} wall={wall:.1f}s "
          f"bound={bound:.1f}s "
          f"ratio={wall / bound:.2f} speed-up={speedup:.1f}x")


if __name__ == "__main__":
    main()
