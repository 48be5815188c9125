"""取引状況確認 at scale: N held payments synced against the sandbox with injected latency.

The payments are real transactions of the in-process sandbox (KAARA0010 through
``Simulator.exchange``) with matching payment rows inserted in bulk (the bench measures the
sync, not checkouts). Every KAAST0010 then waits ``--latency`` seconds inside the sandbox, as a
slow network would; the sync runs its inquiries ``--concurrency`` at a time. One in
``--drift-every`` transactions is cancelled behind the shop's back, so some payments take the
locked path too.

The last line prints the wall time, the bound N×latency/concurrency, their ``ratio`` (goal
≤ 1.25: the sync is as fast as the network allows) and the SQL ``statements`` per payment
(goal ≤ 2). Ratios and counts, not absolute timings, are the claim.

    .venv/bin/python bench/sync.py [--payments 5000] [--latency 0.1] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402

from flask_kuroneko import Kuroneko  # noqa: E402
from flask_kuroneko.models import utcnow  # noqa: E402
from flask_kuroneko.payments.bulk_sync import sync_due  # noqa: E402
from flask_kuroneko.state import current_state  # noqa: E402

MERCHANT = "12345678901"


def authorize_at_yamato(simulator, order_no: str, n: int) -> None:
    fields = {"ycfStrCode": MERCHANT, "orderNo": order_no, "requestDate": "20240101120000",
              "password": "testpass", "orderYmd": date.today().strftime("%Y%m%d"),
              "shipYmd": (date.today() + timedelta(days=3)).strftime("%Y%m%d"),
              "name": "山田　太郎", "postCode": "1000001", "address1": "東京都千代田区千代田１丁目１番",
              "telNum": f"03{n:08d}", "totalAmount": "1100", "sendDiv": "0",
              "itemName1": "テスト商品", "subTotal1": "1100"}
    body = simulator.exchange("KAARA0010", urllib.parse.urlencode(fields).encode()).body
    if b"<returnCode>0</returnCode>" not in body:
        raise SystemExit(f"KAARA0010 {order_no} failed: {body.decode()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--drift-every", type=int, default=100)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = Flask("bench_sync")
        app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.sqlite",
                          KURONEKO_ENVIRONMENT="sandbox",
                          KURONEKO_BULK_CONCURRENCY=args.concurrency)
        db = SQLAlchemy()
        db.init_app(app)
        kuroneko = Kuroneko(app, db)
        with app.app_context():
            kuroneko.upgrade_db()
            state = current_state()
            simulator = state.get_simulator()
            client = state.client()
            now, rows = utcnow(), []
            for n in range(args.payments):
                order_no = f"{7_000_000_000 + n}"
                authorize_at_yamato(simulator, order_no, n)
                if n % args.drift_every == 0:
                    client.cancel(order_no)                 # behind the shop's back
                rows.append(dict(order_no=order_no, host_order_id=str(n), kind="invoice",
                                 status="authorized", amount=1100, initial_amount=1100, fee=0,
                                 order_date=date.today(), ship_date=date.today(),
                                 yamato_status=1, authorized_at=now, created_at=now,
                                 updated_at=now, sms_attempts=0))
            db.session.execute(sa.insert(state.models.Payment), rows)
            db.session.commit()
            simulator.inject_fault("latency", operation="KAAST0010", seconds=args.latency,
                                   times=None)
            statements = [0]

            def count(*_args):
                statements[0] += 1
            sa.event.listen(db.engine, "before_cursor_execute", count)
            started = time.perf_counter()
            report = sync_due(now=utcnow() + timedelta(days=1), interval=timedelta(hours=1),
                              batch=args.batch, concurrency=args.concurrency)
            wall = time.perf_counter() - started
            sa.event.remove(db.engine, "before_cursor_execute", count)
    bound = args.payments * args.latency / args.concurrency
    print(f"payments: {args.payments}, latency {args.latency * 1000:.0f} ms, concurrency "
          f"{args.concurrency}: {report}")
    print(f"wall {wall:.1f} s, bound {bound:.1f} s, ratio {wall / bound:.2f}, "
          f"statements {statements[0] / args.payments:.2f}")


if __name__ == "__main__":
    main()
