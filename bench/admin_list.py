"""決済一覧 and the host's order list at 1,000 vs 100,000 payments: the pages must not get slower
with the table (keyset paging, an index per filter, no COUNT) nor issue more statements.

The example shop is filled with N orders and their payments (bulk inserts: the bench measures
the pages, not checkouts): statuses, 決済種別 and Yamato's 取引状況 mixed, a few open 差異 and
a few 与信 near the shipment limit (the same few at both sizes, as in a shop that keeps up with
its notices). A logged-in admin then requests, through the Flask test client:

  決済一覧 page 1, its last page (``last=1``), a page in the middle (``after=``), the
  filters ``status=captured`` and ``kind=smartphone``, and the shop's order list (受注管理,
  which asks ``kuroneko.payments_for`` for its 50 orders in one query)

each ``--repeat`` times, the two shops in turn (a load change on a shared machine hits both
sizes alike); the median time of each page at each size, their ratio and the SQL statements of
one request are printed. The last line prints the worst ratio (goal ≤ 1.5) and whether every
page issued the same number of statements at both sizes (goal: yes).

    .venv/bin/python bench/admin_list.py [--small 1000] [--large 100000] [--repeat 30]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/kuroneko_bench]
    (scratch server databases <name> and <name>_small, created and dropped by the bench)
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from flask_kuroneko.models import utcnow  # noqa: E402

STATUSES = ("authorized", "captured", "captured", "captured", "cancelled", "declined")
YAMATO = {"authorized": 1, "captured": 10, "cancelled": 2, "declined": 32}
FEW = 5          # open 差異 and 与信 near the limit, at every size


def fill(app, n: int) -> None:
    from example_shop.extensions import db, kuroneko
    from example_shop.models import Order
    now = utcnow()
    with app.app_context():
        P = kuroneko.models.Payment
        for start in range(0, n, 5000):
            orders = [dict(id=i + 1, status="新規受付", placed_at=now, checkout_done=True,
                           name="山田 太郎", name_kana="ヤマダ タロウ", email="t@example.com",
                           phone="0312345678", postal_code="1000001", prefecture="東京都",
                           address1="千代田区千代田1-1", delivery_method="takkyubin",
                           shipping_fee=800, payment_method="kuroneko:1",
                           payment_name="クロネコ代金後払い", total=3300)
                      for i in range(start, min(n, start + 5000))]
            db.session.execute(sa.insert(Order), orders)
            rows = []
            for o in orders:
                i = o["id"]
                status = STATUSES[i % len(STATUSES)]
                rows.append(dict(
                    order_no=f"{8_000_000_000 + i}", host_order_id=str(i),
                    kind="smartphone" if i % 10 == 0 else "invoice", status=status,
                    amount=3300, initial_amount=3300, order_date=date.today(),
                    ship_date=date.today() + timedelta(days=3), yamato_status=YAMATO[status],
                    yamato_status_at=now, synced_at=now,
                    created_at=now - timedelta(days=85) if i <= FEW else now, updated_at=now,
                    drift="ヤマトの取引状況は「取消済み」です。" if n - FEW < i else None,
                    drift_kind="yamato_other" if n - FEW < i else None, drift_at=now))
            for row in rows[:FEW] if start == 0 else ():
                row["status"], row["yamato_status"] = "authorized", 1
            db.session.execute(sa.insert(P), rows)
            db.session.commit()
        analyze(db)


def analyze(db) -> None:
    """Planner statistics after the bulk load, as a live server database has them
    (autovacuum's ANALYZE; InnoDB's persistent statistics). SQLite works without."""
    name = db.engine.dialect.name
    if name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))
    elif name in ("mysql", "mariadb"):
        db.session.execute(sa.text("ANALYZE TABLE shop_orders, kuroneko_payments"))
    db.session.commit()


def statements_of(client, path: str, engine) -> int:
    """The SQL statements of one request (after a warm-up request: caches, first reads)."""
    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(statement)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def timed(client, path: str) -> float:
    started = time.perf_counter()
    client.get(path)
    return time.perf_counter() - started


def server_database(url: str, *, create: bool) -> None:
    """Create (or drop) the bench's scratch server database (PostgreSQL, MariaDB)."""
    target = sa.engine.make_url(url)
    if target.get_backend_name() == "sqlite":
        return
    postgres = target.get_backend_name() == "postgresql"
    admin = sa.create_engine(target.set(database="postgres" if postgres else "mysql"),
                             isolation_level="AUTOCOMMIT")
    quoted = f'"{target.database}"' if postgres else f"`{target.database}`"
    try:
        with admin.connect() as conn:
            if not create:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"
                                     + (" WITH (FORCE)" if postgres else "")))
            elif postgres:
                found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": target.database}).first()
                if not found:
                    conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
            else:
                conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS {quoted}"))
    finally:
        admin.dispose()


class Shop:
    """The example shop filled with ``n`` orders and payments, an admin logged in."""

    def __init__(self, n: int, url: str):
        from example_shop import create_app
        server_database(url, create=True)
        self.n, self.url = n, url
        self.app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                               "TESTING": True, "SHOP_DEMO_DATA": False,
                               "SHOP_SANDBOX_MOUNT": None, "SHOP_SHARED_SANDBOX": False})
        started = time.perf_counter()
        fill(self.app, n)
        print(f"{n:,} orders and payments written in {time.perf_counter() - started:.1f}s "
              f"({url.split(':')[0]})", flush=True)
        self.client = self.app.test_client()
        with self.client.session_transaction() as session:
            session["shop_admin"] = True

    def pages(self) -> dict[str, str]:
        from example_shop import db
        with self.app.app_context():
            P = self.app.extensions["kuroneko"].models.Payment
            middle = db.session.scalar(sa.select(sa.func.max(P.id))) // 2
        return {
            "決済一覧 page 1": "/admin/kuroneko/payments",
            "決済一覧 last page": "/admin/kuroneko/payments?last=1",
            "決済一覧 middle (after=)": f"/admin/kuroneko/payments?after={middle}",
            "filter status=captured": "/admin/kuroneko/payments?status=captured",
            "filter kind=smartphone": "/admin/kuroneko/payments?kind=smartphone",
            "受注管理 (payments_for)": "/admin/",
        }

    def drop(self) -> None:
        from example_shop import db
        from schema_support import drop_tables
        with self.app.app_context():
            drop_tables(db)
        server_database(self.url, create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default=None,
                        help="a scratch server database for the large shop (its tables are "
                             "dropped); the small one then uses a second database named "
                             "<name>_small on the same server. Default: SQLite files")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    with tempfile.TemporaryDirectory() as tmp:
        urls = {args.small: f"sqlite:///{tmp}/bench_small.sqlite",
                args.large: f"sqlite:///{tmp}/bench_large.sqlite"}
        if args.database_url:
            large = sa.engine.make_url(args.database_url)
            urls = {args.small: large.set(database=f"{large.database}_small")
                    .render_as_string(hide_password=False), args.large: args.database_url}
        shops = {n: Shop(n, urls[n]) for n in (args.small, args.large)}
        try:
            report(shops[args.small], shops[args.large], args.repeat)
        finally:
            for shop in shops.values():
                shop.drop()


def report(small: Shop, large: Shop, repeat: int) -> None:
    """Both shops answer the same pages in turn (a load change on a shared machine hits both
    sizes alike); the median of each page at each size, and their ratio."""
    from example_shop import db
    pages = {n: shop.pages() for n, shop in ((small.n, small), (large.n, large))}
    counts, times = {}, {small.n: {}, large.n: {}}
    for shop in (small, large):
        with shop.app.app_context():
            counts[shop.n] = {name: statements_of(shop.client, path, db.engine)
                              for name, path in pages[shop.n].items()}
    for _ in range(repeat):
        for name in pages[small.n]:
            for shop in (small, large):
                times[shop.n].setdefault(name, []).append(timed(shop.client,
                                                                pages[shop.n][name]))
    ratios = {}
    for name in pages[small.n]:
        a, b = statistics.median(times[small.n][name]), statistics.median(times[large.n][name])
        ratios[name] = b / a
        print(f"  {name:26s} {a * 1000:7.2f} ms / {b * 1000:7.2f} ms  ratio {ratios[name]:.2f}  "
              f"statements {counts[small.n][name]} / {counts[large.n][name]}")
    same = counts[small.n] == counts[large.n]
    worst = max(ratios, key=ratios.get)
    print(f"admin lists {small.n:,} vs {large.n:,} payments: worst time ratio "
          f"{ratios[worst]:.2f} ({worst}; goal <= 1.5), same statement count: "
          f"{'yes' if same else 'no'}")


if __name__ == "__main__":
    main()
