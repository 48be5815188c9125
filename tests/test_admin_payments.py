"""Admin payments list (M15) and 「決済情報」 dialog (M19–M21): every POST through the real
service, client and in-process sandbox; refusals shown as Japanese flash messages."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from flask_kuroneko import payments
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from service_support import MERCHANT, SLIP1, YAMATO, place, setup_shop
from test_admin_support import PREFIX, page, post, text


@pytest.fixture
def shop(db):
    return setup_shop()


def authorized(kuroneko, shop, **fields):
    order, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"],
                           **fields)
    assert outcome.kind == "authorized", outcome
    return order, outcome.payment


def buttons(html: str) -> list[str]:
    return re.findall(r'data-op="([a-z_]+)"', html)


def fresh(db, payment_id):
    db.session.rollback()      # end this session's snapshot (REPEATABLE READ on MariaDB)
    return payments.get_payment(payment_id)


def listed(html: str) -> list[int]:
    """The payment ids of the list's rows, in order."""
    return [int(i) for i in re.findall(r'<tr id="payment-(\d+)"', html)]


def test_list_shows_payments_with_filters_and_drift(app, client, db, kuroneko, shop):
    order, payment = authorized(kuroneko, shop)
    _, declined = place(kuroneko, shop["invoice"], phone="03-1234-9991")
    assert declined.kind == "declined"
    html = page(client, "/payments")
    for value in (payment.order_no, str(order.id), "与信", "3,000円", "承認済み",
                  "後払い払込票タイプ（クロネコ代金後払いサービス）"):
        assert value in html
    assert listed(html) == [declined.payment.id, payment.id]          # newest first
    assert listed(page(client, "/payments?status=authorized")) == [payment.id]
    assert listed(page(client, "/payments?status=declined")) == [declined.payment.id]
    assert listed(page(client, "/payments?yamato=1")) == [payment.id]  # 取引状況 承認済み
    assert listed(page(client, f"/payments?q={order.id}")) == [payment.id]
    assert listed(page(client, "/payments?q=nothing")) == []
    assert listed(page(client, "/payments?drift=open")) == []
    payment = fresh(db, payment.id)
    payment.drift, payment.drift_kind = "ヤマトでは取消済み", "yamato_other"
    db.session.commit()
    flagged = page(client, "/payments?drift=1")
    assert listed(flagged) == [payment.id] and "⚠ 差異（取引状況の不一致）" in flagged
    for bad in ("page=abc", "after=abc", "before=%C2%B2", "after=" + "9" * 40, "yamato=99",
                "status=nope", "last=2"):
        assert listed(page(client, "/payments?" + bad)) == [declined.payment.id, payment.id]


def test_dialog_shows_status_amount_history_and_legal_buttons(app, client, db, kuroneko, shop):
    order, payment = authorized(kuroneko, shop)
    html = page(client, f"/payments/{payment.id}?back=/admin/kuroneko/payments%3Fstatus%3Dauthorized")
    assert "決済情報" in html and payment.order_no in html
    assert 'id="payment-status">与信' in html
    assert 'id="host-amount">3,000円' in html
    assert buttons(html) == ["cancel", "change_amount", "sync_status"]
    assert "<td>与信</td>" in html and "処理履歴" in html         # history row of the authorization
    assert 'href="/admin/kuroneko/payments?status=authorized" id="close-dialog">閉じる' in html
    # 「閉じる」 never points off-site
    evil = page(client, f"/payments/{payment.id}?back=//evil.example/x")
    assert "evil.example" not in evil
    assert page(client, "/payments/999999", status=404)


def test_cancel_from_the_dialog_and_a_second_admin_is_refused(app, db, kuroneko, shop, simulator):
    _, payment = authorized(kuroneko, shop)
    first, second = app.test_client(), app.test_client()
    token_second = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                             page(second, f"/payments/{payment.id}")).group(1)
    response = post(first, f"/payments/{payment.id}", f"/payments/{payment.id}/cancel")
    html = text(response)
    assert "「取消」を行いました。" in html
    assert 'id="payment-status">取消済み' in html
    assert buttons(html) == ["sync_status"]
    assert fresh(db, payment.id).status == "cancelled"
    assert simulator.transaction(MERCHANT, payment.order_no)["status"] == 2   # 取消 at Yamato
    # the second admin still had the old page open: the service refuses, no 500
    response = second.post(f"{PREFIX}/payments/{payment.id}/cancel",
                           data={"csrf_token": token_second}, follow_redirects=True)
    assert response.status_code == 200
    assert "「取消」できませんでした：決済状況が「取消済み」のため「取消」はできません" in text(response)
    rows = db.session.scalars(sa.select(kuroneko.models.PaymentHistory).where(
        kuroneko.models.PaymentHistory.payment_id == payment.id,
        kuroneko.models.PaymentHistory.operation == "取消")).all()
    assert len(rows) == 1


def test_change_amount_uses_the_hosts_current_total(app, client, db, kuroneko, shop, simulator):
    order, payment = authorized(kuroneko, shop)
    order = db.session.get(simple_shop.ShopOrder, order.id)
    order.lines = [["テスト商品", 1, 1500, "physical"]]
    db.session.commit()
    html = page(client, f"/payments/{payment.id}")
    assert 'id="host-amount">1,500円' in html and "ヤマトに登録済みの金額は 3,000円" in html
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/change_amount")
    assert "「利用額変更」を行いました" in text(response)
    assert fresh(db, payment.id).amount == 1500
    assert simulator.transaction(MERCHANT, payment.order_no)["current_total"] == 1500
    assert "3,000円 → 1,500円" in text(response)
    # same amount again: the service says it is not needed
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/change_amount")
    assert "利用額変更は不要です" in text(response)


def test_capture_then_shipment_cancel_sync_and_reissue(app, client, db, kuroneko, shop, simulator):
    order, payment = authorized(kuroneko, shop)
    payments.capture(payment.id, carrier=YAMATO, tracking_no=SLIP1)
    html = page(client, f"/payments/{payment.id}")
    # Yamato is at 送り状番号登録済み: it takes no 請求書再発行 yet, so none is offered
    assert buttons(html) == ["cancel", "change_amount", "cancel_shipment", "sync_status"]
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/sync_status")
    assert "「取引状況確認」を行いました（現在の状況：売上確定）" in text(response)
    reissue = {"reason": "1", "reason_text": "宛先の番地違い"}
    # sent anyway (a hand-made POST): Yamato refuses, the admin reads Yamato's reason
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/reissue_invoice",
                    reissue)
    assert "「請求書再発行」できませんでした：ヤマトのエラー（kaarr016E）" in text(response)
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/cancel_shipment")
    assert "「出荷取消」を行いました。" in text(response)
    assert fresh(db, payment.id).status == "authorized"
    payments.capture(payment.id, carrier=YAMATO, tracking_no=SLIP1)
    simulator.deliver(MERCHANT, payment.order_no)
    post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/sync_status")
    assert "reissue_invoice" in buttons(page(client, f"/payments/{payment.id}"))   # 売上確定 there
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/reissue_invoice",
                    reissue)
    assert "「請求書再発行」を行いました。" in text(response)
    assert simulator.transaction(MERCHANT, payment.order_no)["reissue"]["count"] == 1
    assert "不備事由: 宛先不備" in text(response)


def test_yamato_error_and_unreachable_are_flashed(app, client, db, kuroneko, shop, simulator):
    _, payment = authorized(kuroneko, shop)
    simulator.inject_fault("error", operation="KAACL0010", error_code="err0001")
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/cancel")
    html = text(response)
    assert response.status_code == 200
    assert "「取消」できませんでした：ヤマトのエラー（err0001）" in html
    assert fresh(db, payment.id).status == "authorized"
    assert 'id="kuroneko-error-notice"' in html           # M22 notice on every admin page
    simulator.inject_fault("drop", operation="KAACL0010")
    response = post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/cancel")
    html = text(response)
    assert "「取消」できませんでした：ヤマトからの応答がないため「取消」の結果を確認中です" in html
    assert buttons(html) == ["sync_status"]               # nothing else while it is unsettled
    assert "（ヤマトに結果を確認中）" in html


def test_sync_status_settles_an_unknown_outcome_at_once(app, client, db, kuroneko, shop,
                                                        simulator, calls):
    """「取引状況確認」 on a payment whose 取消 got no answer settles that 取消 from Yamato's own
    answer now (the request reached Yamato: the payment is 取消), not at the next sweep."""
    _, payment = authorized(kuroneko, shop)
    simulator.inject_fault("drop", operation="KAACL0010")      # processed, answer lost
    html = text(post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/cancel"))
    assert "結果を確認中" in html and fresh(db, payment.id).open_operation == "cancel"
    html = text(post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/sync_status"))
    assert "「取引状況確認」を行いました（現在の状況：取消済み）" in html, html
    p = fresh(db, payment.id)
    assert (p.status, p.open_operation) == ("cancelled", None)
    assert calls["KAACL0010"] == 1                            # asked, never sent twice


def test_unknown_operation_and_missing_token(app, client, db, kuroneko, shop):
    _, payment = authorized(kuroneko, shop)
    assert client.post(f"{PREFIX}/payments/{payment.id}/capture").status_code == 404
    response = client.post(f"{PREFIX}/payments/{payment.id}/cancel")
    assert response.status_code == 400
    assert fresh(db, payment.id).status == "authorized"


def test_password_never_in_payment_pages(app, client, db, kuroneko, shop, simulator):
    save_settings({"merchant_code": MERCHANT, "password": "testpass"})
    _, payment = authorized(kuroneko, shop)
    simulator.inject_fault("error", operation="KAACL0010", error_code="err0002")
    post(client, f"/payments/{payment.id}", f"/payments/{payment.id}/cancel")
    for path in ("/payments", f"/payments/{payment.id}", "/errors", "/settings"):
        assert "testpass" not in page(client, path)


def test_two_admins_cancel_at_the_same_moment(app, db, kuroneko, shop, simulator, monkeypatch):
    """Both press 「取消」 together: Yamato is asked once, the other admin gets the refusal."""
    import threading

    from service_support import CallCounter
    _, payment = authorized(kuroneko, shop)
    calls = CallCounter(simulator, monkeypatch)
    clients = [app.test_client(), app.test_client()]
    tokens = [re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                        page(c, f"/payments/{payment.id}")).group(1) for c in clients]
    barrier = threading.Barrier(2)
    results = [None, None]

    def press(i):
        barrier.wait()
        response = clients[i].post(f"{PREFIX}/payments/{payment.id}/cancel",
                                   data={"csrf_token": tokens[i]}, follow_redirects=True)
        results[i] = (response.status_code, text(response))

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [r[0] for r in results] == [200, 200]
    done = [r for r in results if "「取消」を行いました。" in r[1]]
    refused = [r for r in results if "「取消」できませんでした" in r[1]]
    assert len(done) == 1 and len(refused) == 1
    assert calls["KAACL0010"] == 1
    assert fresh(db, payment.id).status == "cancelled"
