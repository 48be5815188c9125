"""The admin's side of M25 and of Yamato's shipment limit: the notices count open 差異 and 与信
near the limit, the 差異一覧 lists them with their fix buttons (each posted through the real
service and sandbox, coming back to the list), the dialog shows both sides, the flags and the
「再与信」 button (refused with the reason for スマホタイプ)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from flask_kuroneko import payments
from flask_kuroneko.models import utcnow
from hosts import simple_shop
from hosts.simple_shop import CANCELLED, set_status
from service_support import MERCHANT, place, setup_shop
from test_admin_support import page, post, text


@pytest.fixture
def shop(db):
    return setup_shop()


_buyers = iter(range(4000, 9000))


def authorized(kuroneko, shop, kind="invoice"):
    form = {"sms_phone": "090-1234-5678"} if kind == "smartphone" else None
    order, outcome = place(kuroneko, shop[kind], delivery_method_id=shop["yamato_delivery"],
                           phone=f"03-1234-{next(_buyers):04d}", form=form)
    return order, outcome.payment


def fresh(db, pid):
    db.session.rollback()
    return payments.get_payment(pid)


def fixes(html: str) -> list[str]:
    return re.findall(r'data-fix="([a-z_]+)"', html)


def test_drift_notice_list_and_fix_from_the_list(app, client, db, kuroneko, shop, simulator):
    order, p = authorized(kuroneko, shop)
    set_status(app, order, CANCELLED)                 # the shop cancelled; Yamato still holds it
    html = page(client, "/payments")
    assert 'id="kuroneko-drift-notice"' in html and "ヤマトとの差異が1件あります" in html
    listing = page(client, "/drifts")
    row = re.search(rf'<tr id="drift-{p.id}">.*?</tr>', listing, re.S).group(0)
    assert "注文キャンセル" in row and p.order_no in row
    assert fixes(row) == ["cancel", "acknowledge"]
    response = post(client, "/drifts", f"/payments/{p.id}/drift/cancel",
                    {"back": "/admin/kuroneko/drifts"})
    html = text(response)
    assert "「取消をヤマトに送信」を行いました。" in html and "差異はありません。" in html
    assert 'id="kuroneko-drift-notice"' not in html
    assert fresh(db, p.id).status == "cancelled"
    assert simulator.transaction(MERCHANT, p.order_no)["status"] == 2


def test_acknowledged_drifts_leave_the_notice_and_stay_listable(app, client, db, kuroneko,
                                                                shop, api_client):
    _, p = authorized(kuroneko, shop)
    api_client.cancel(p.order_no)
    payments.sync_status(p.id)
    dialog = page(client, f"/payments/{p.id}")
    assert 'id="do-not-ship"' in dialog and "発送しないでください" in dialog
    assert "ヤマトで取消" in dialog and fixes(dialog) == ["acknowledge"]
    response = post(client, f"/payments/{p.id}", f"/payments/{p.id}/drift/acknowledge")
    html = text(response)
    assert "「確認済み（ヤマトの状態のまま）」を行いました。" in html and "確認済み（" in html
    assert 'id="kuroneko-drift-notice"' not in html
    assert f'id="drift-{p.id}"' not in page(client, "/drifts")
    assert f'id="drift-{p.id}"' in page(client, "/drifts?all=1")
    assert f'id="drift-{p.id}"' in page(client, "/drifts?all=1&kind=yamato_cancelled")
    assert f'id="drift-{p.id}"' not in page(client, "/drifts?all=1&kind=host_amount")
    # posted twice (a second admin): refused, nothing changes
    again = post(client, f"/payments/{p.id}", f"/payments/{p.id}/drift/acknowledge")
    assert "できませんでした" in text(again)


def test_dialog_shows_yamato_side_and_the_shipment_limit_with_reauthorization(
        client, db, kuroneko, shop, simulator):
    _, p = authorized(kuroneko, shop)
    payments.sync_status(p.id)
    row = fresh(db, p.id)
    row.created_at = utcnow() - timedelta(days=80)
    db.session.commit()
    html = page(client, "/payments")
    assert 'id="kuroneko-window-notice"' in html and "出荷期限（与信から90日）が近い決済が1件" in html
    dialog = page(client, f"/payments/{p.id}?back=/admin/kuroneko/payments%3Fwindow%3D1")
    assert 'id="yamato-status">承認済み' in dialog and "最終確認：" in dialog
    assert "まであと" in dialog and 'data-op="reauthorize"' in dialog
    response = post(client, f"/payments/{p.id}", f"/payments/{p.id}/reauthorize",
                    {"dialog_back": "/admin/kuroneko/payments?window=1"}, follow=False)
    new_id = int(re.search(r"/payments/(\d+)", response.location).group(1))
    assert new_id != p.id and "back=" in response.location
    html = text(client.get(response.location))
    assert "「再与信」を行いました（新しい決済ID" in html
    assert 'href="/admin/kuroneko/payments?window=1" id="close-dialog"' in html
    assert fresh(db, p.id).status == "cancelled"
    assert simulator.transaction(MERCHANT, p.order_no)["status"] == 2


def test_smartphone_reauthorization_is_refused_with_the_reason(client, db, kuroneko, shop,
                                                                simulator):
    _, p = authorized(kuroneko, shop, "smartphone")
    assert payments.verify_sms(p.id, simulator.sms_code(MERCHANT, p.order_no)).kind == "authorized"
    row = fresh(db, p.id)
    row.created_at = utcnow() - timedelta(days=85)
    db.session.commit()
    dialog = page(client, f"/payments/{p.id}")
    assert "スマホタイプの決済は再与信できません" in dialog
    response = post(client, f"/payments/{p.id}", f"/payments/{p.id}/reauthorize")
    assert "「再与信」できませんでした：スマホタイプの決済は再与信できません" in text(response)
    assert fresh(db, p.id).status == "authorized"


def test_diagnostics_page_shows_the_figures(client, db, kuroneko, shop):
    authorized(kuroneko, shop)
    html = page(client, "/diagnostics")
    assert "スイープ（flask kuroneko worker または sweep）がまだ一度も実行されていません" in html
    assert "与信（authorized）" in html and "未実行" in html
    payments.sweep()
    html = page(client, "/diagnostics")
    assert 'id="sweep-stale"' not in html and "最後のスイープ" in html
    assert re.search(r"最後のスイープ</td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", html)


def test_diagnostics_says_when_the_sweep_stopped(client, db, kuroneko, shop):
    payments.sweep()
    Run = kuroneko.models.Run
    db.session.execute(sa.update(Run).values(started_at=utcnow() - timedelta(hours=2),
                                             finished_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    html = page(client, "/diagnostics")
    assert 'id="sweep-stale"' in html and "最後のスイープは2時間0分前です" in html


def test_the_order_restorer_gets_an_aware_japan_time(client, db, kuroneko, shop, monkeypatch):
    """「受注データ登録」 passes the log's date as an aware datetime in Japan time."""
    seen = []
    original = simple_shop.kuroneko.registered_hooks["order_restorer"]

    def spy(snapshot, placed_at):
        seen.append(placed_at)
        return original(snapshot, placed_at.replace(tzinfo=None))
    monkeypatch.setitem(simple_shop.kuroneko.registered_hooks, "order_restorer", spy)
    order, p = authorized(kuroneko, shop)
    L = kuroneko.models.PrepaymentLog
    log = db.session.scalars(sa.select(L).where(L.order_no == p.order_no)).one()
    db.session.delete(db.session.get(simple_shop.ShopOrder, order.id))   # the shop lost it
    db.session.commit()
    post(client, f"/prepayment/{log.id}", f"/prepayment/{log.id}/restore", {"placed_at": "log"})
    [placed_at] = seen
    assert placed_at.utcoffset() == timedelta(hours=9)
    assert placed_at.replace(tzinfo=None) - timedelta(hours=9) == log.created_at.replace(
        microsecond=placed_at.microsecond)


def test_fix_buttons_refuse_what_is_not_offered_and_never_leave_the_site(
        app, client, db, kuroneko, shop, simulator, calls):
    from test_admin_support import PREFIX, csrf_token
    order, p = authorized(kuroneko, shop)
    set_status(app, order, CANCELLED)                        # host_cancelled: cancel or ack
    token = csrf_token(page(client, f"/payments/{p.id}"))
    calls.reset()
    assert client.post(f"{PREFIX}/payments/{p.id}/drift/bogus",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"{PREFIX}/payments/{p.id}/drift/cancel").status_code == 400  # no token
    refused = client.post(f"{PREFIX}/payments/{p.id}/drift/capture",
                          data={"csrf_token": token}, follow_redirects=True)
    assert "「売上確定をヤマトに送信」できませんでした" in text(refused)
    assert calls["KAASL0010"] == calls["KAACL0010"] == 0
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(f"{PREFIX}/payments/{p.id}/drift/acknowledge",
                               data={"csrf_token": token, "back": evil})
        assert response.status_code == 302 and "evil" not in response.location
        assert response.location.endswith(f"/payments/{p.id}")
    assert fresh(db, p.id).drift_acknowledged_at is not None
    assert fresh(db, p.id).status == "authorized"
