"""決済一覧 (M15) at size: keyset paging (first, next, previous, last) without COUNT, the same
statements whatever the page, filters by status / 決済種別 / 取引状況 / 差異 / 出荷期限間近,
Yamato's columns in Japan time, 「取引状況確認」 of the selection through the real sandbox."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from flask_kuroneko.models import utcnow
from hosts import simple_shop
from service_support import MERCHANT, place, setup_shop
from test_admin_support import PREFIX, page, post, text

N = 120          # more than two pages of 50


@pytest.fixture
def shop(db):
    return setup_shop()


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="payment-(\d+)"', html)]


def link(html: str, label: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)"(?: rel="\w+")?>{label}</a>', html)
    return match.group(1).replace("&amp;", "&") if match else None


def bulk_payments(kuroneko, n: int = N, **values) -> list[int]:
    """``n`` payment rows written directly (a list test needs rows, not Yamato)."""
    P = kuroneko.models.Payment
    now = utcnow()
    rows = [dict(order_no=f"{9000000000 + i}", host_order_id=str(10_000 + i), kind="invoice",
                 status="authorized", amount=1000 + i, initial_amount=1000 + i,
                 order_date=date(2025, 1, 1), ship_date=date(2025, 1, 10), yamato_status=1,
                 created_at=now, updated_at=now, **values) for i in range(n)]
    simple_shop.db.session.execute(sa.insert(P), rows)
    simple_shop.db.session.commit()
    return list(simple_shop.db.session.scalars(sa.select(P.id).order_by(P.id)))


class Statements:
    """Counts the SQL statements of the requests made inside the block."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self.count)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self.count)

    def count(self, conn, cursor, statement, params, context, executemany):
        self.seen.append(statement)


def test_keyset_paging_walks_every_row_once_both_ways(client, db, kuroneko, shop):
    ids = bulk_payments(kuroneko)
    newest_first = ids[::-1]
    html = page(client, "/payments")
    seen = listed(html)
    assert seen == newest_first[:50] and link(html, "前へ") is None
    while link(html, "次へ"):
        html = text(client.get(link(html, "次へ")))
        seen += listed(html)
    assert seen == newest_first                             # every row once, in order
    assert link(html, "最後へ") is None and link(html, "前へ")
    back = []
    while link(html, "前へ"):
        html = text(client.get(link(html, "前へ")))
        back = listed(html) + back
    assert back == newest_first[:100]                       # the first two pages again
    last = page(client, "/payments?last=1")
    assert listed(last) == newest_first[-50:] and link(last, "次へ") is None
    previous = text(client.get(link(last, "前へ")))
    assert listed(previous) == newest_first[-100:-50]
    assert not re.search(r"<p>\d+件</p>", html)                # no total (no COUNT)


def test_each_page_costs_the_same_statements_and_no_count(client, app, db, kuroneko, shop):
    ids = bulk_payments(kuroneko)
    engine = simple_shop.db.engine
    page(client, "/payments")            # once: the schema check is cached after it
    costs = {}
    for name, path in (("first", "/payments"), ("middle", f"/payments?after={ids[-50]}"),
                       ("last", "/payments?last=1"), ("filter", "/payments?status=authorized"),
                       ("previous", f"/payments?before={ids[10]}")):
        with Statements(engine) as spy:
            page(client, path)
        costs[name] = spy.seen
    counts = {name: len(seen) for name, seen in costs.items()}
    assert len(set(counts.values())) == 1, counts
    listing = [s for s in costs["middle"] if "FROM kuroneko_payments" in s and "LIMIT" in s]
    assert len(listing) == 1                                 # one query for the rows
    assert not [s for seen in costs.values() for s in seen
                if "count(" in s.lower() and "drift_kind" not in s and "created_at <" not in s]


def test_filters(client, db, kuroneko, shop):
    ids = bulk_payments(kuroneko, 6)
    P = kuroneko.models.Payment
    db.session.execute(sa.update(P).where(P.id == ids[0]).values(kind="smartphone"))
    db.session.execute(sa.update(P).where(P.id == ids[1]).values(status="captured",
                                                                yamato_status=10))
    db.session.execute(sa.update(P).where(P.id == ids[2]).values(
        drift="x", drift_kind="host_amount"))
    db.session.execute(sa.update(P).where(P.id == ids[3]).values(
        drift="y", drift_kind="host_cancelled", drift_acknowledged_at=utcnow()))
    old = utcnow() - timedelta(days=85)
    db.session.execute(sa.update(P).where(P.id == ids[4]).values(created_at=old))
    db.session.commit()
    assert listed(page(client, "/payments?kind=smartphone")) == [ids[0]]
    assert listed(page(client, "/payments?status=captured")) == [ids[1]]
    assert listed(page(client, "/payments?yamato=10")) == [ids[1]]
    assert listed(page(client, "/payments?drift=open")) == [ids[2]]
    assert listed(page(client, "/payments?drift=all")) == [ids[3], ids[2]]
    window = page(client, "/payments?window=1")
    assert listed(window) == [ids[4]] and "出荷期限 " in window
    assert listed(page(client, f"/payments?q={10_000 + 5}")) == [ids[5]]
    assert listed(page(client, "/payments?status=captured&kind=smartphone")) == []


def test_yamato_columns_and_flags_in_japan_time(client, db, kuroneko, shop):
    [pid] = bulk_payments(kuroneko, 1)
    P = kuroneko.models.Payment
    db.session.execute(sa.update(P).where(P.id == pid).values(
        yamato_status=6, yamato_status_at=datetime(2025, 3, 1, 15, 30),
        yamato_warning=1, yamato_warning_at=datetime(2025, 3, 1, 15, 30),
        status="declined", authorized_at=datetime(2025, 2, 1), drift="z", drift_kind="late_ng",
        drift_at=datetime(2025, 3, 1, 15, 30)))
    db.session.commit()
    html = page(client, "/payments")
    row = re.search(rf'<tr id="payment-{pid}">.*?</tr>', html, re.S).group(0)
    assert "警報メール送信済み" in row and "2025-03-02 00:30" in row      # 15:30 UTC = 00:30 JST
    assert "送り状番号未登録" in row and "発送不可" in row and "与信後の決済不可" in row


def test_sync_the_selection(client, db, kuroneko, shop, simulator, calls, api_client):
    pids = []
    for i in range(3):
        _, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"],
                           phone=f"03-1234-{3000 + i:04d}")
        pids.append(outcome.payment.id)
    db.session.commit()
    api_client.cancel(db.session.get(kuroneko.models.Payment, pids[1]).order_no)
    calls.reset()
    response = post(client, "/payments", "/payments/sync",
                    {"payment_id": [str(pids[0]), str(pids[1])], "back": "/admin/kuroneko/payments?status=authorized"},
                    follow=False)
    assert response.status_code == 302 and response.location.endswith("/payments?status=authorized")
    assert calls["KAAST0010"] == 2
    html = page(client, "/payments")
    assert "「取引状況確認」を2件行いました（一致 1件、変更 1件、新しい差異 1件）" in html
    db.session.rollback()
    P = kuroneko.models.Payment
    assert db.session.get(P, pids[1]).status == "cancelled"
    assert db.session.get(P, pids[0]).synced_at is not None
    assert db.session.get(P, pids[2]).synced_at is None                   # not selected
    assert "選んでください" in text(post(client, "/payments", "/payments/sync", {}))
    assert "正しくありません" in text(post(client, "/payments", "/payments/sync",
                                           {"payment_id": "１"}))
    assert client.post(PREFIX + "/payments/sync", data={"payment_id": "1"}).status_code == 400
