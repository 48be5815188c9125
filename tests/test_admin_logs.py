"""Admin 決済エラーログ (M22) and 決済直前ログ (M23) pages through the real service, sandbox
and DB: notice on every page, CSV without the password, deletion, 「受注データ登録」."""
from __future__ import annotations

import csv
import re
import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from service_support import MERCHANT, place, setup_shop
from test_admin_support import PREFIX, page, post, text


@pytest.fixture
def shop(db):
    return setup_shop()


def make_errors(kuroneko, shop, simulator):
    """Two real error logs: a Yamato system error on 取消 and a declined authorization."""
    save_settings({"merchant_code": MERCHANT, "password": "testpass"})
    order, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    simulator.inject_fault("error", operation="KAACL0010", error_code="err0001")
    from flask_kuroneko import payments
    with pytest.raises(Exception):
        payments.cancel(outcome.payment.id, actor="admin")
    return outcome.payment


def error_rows(kuroneko, db):
    return db.session.scalars(sa.select(kuroneko.models.ErrorLog)).all()


def test_no_notice_without_errors(app, client, db):
    assert 'id="kuroneko-error-notice"' not in page(client, "/settings")
    assert "決済エラーログはありません。" in page(client, "/errors")


def test_error_log_list_notice_csv_and_delete(app, client, db, kuroneko, shop, simulator):
    payment = make_errors(kuroneko, shop, simulator)
    rows = error_rows(kuroneko, db)
    assert rows
    for path in ("/settings", "/methods", "/payments", "/errors", "/prepayment"):
        html = page(client, path)
        assert 'id="kuroneko-error-notice"' in html, path
        # the manual's notice: 「決済エラーが発生しました。決済エラーログを確認してください。発生日時:[…]」
        assert re.search(r"決済エラーが発生しました。<a [^>]+>決済エラーログ</a>を確認してください。"
                         r"発生日時:\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]", html), path
    html = page(client, "/errors")
    assert payment.order_no in html and "エラーコード：err0001" in html and "取消" in html
    assert "err0001：" not in html                    # ステータス is the message alone (M22)
    assert "後払い払込票タイプ" in html
    response = post(client, "/errors", "/errors.csv", follow=False)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert table[0] == ["登録日", "リンクキー", "決済種別", "処理", "エラーコード", "ステータス", "詳細"]
    assert any(r[1] == payment.order_no and r[4] == "err0001" for r in table[1:])
    assert "testpass" not in body
    response = post(client, "/errors", "/errors/delete")
    assert f"決済エラーログを{len(rows)}件削除しました。" in text(response)
    assert error_rows(kuroneko, db) == []
    assert 'id="kuroneko-error-notice"' not in page(client, "/settings")


def test_error_csv_never_carries_the_password(app, client, db, kuroneko):
    """Even a message that somehow contains the password is redacted in the export."""
    save_settings({"merchant_code": MERCHANT, "password": "Secr3tPw"})
    db.session.add(kuroneko.models.ErrorLog(message="bad Secr3tPw here", code="x",
                                            detail={"note": "Secr3tPw", "password": "Secr3tPw"}))
    db.session.commit()
    response = post(client, "/errors", "/errors.csv", follow=False)
    assert "Secr3tPw" not in response.get_data(as_text=True)
    assert "Secr3tPw" not in page(client, "/errors")


def test_error_log_posts_need_the_token(app, client, db, kuroneko):
    db.session.add(kuroneko.models.ErrorLog(message="m"))
    db.session.commit()
    assert client.post(PREFIX + "/errors/delete").status_code == 400
    assert client.post(PREFIX + "/errors.csv").status_code == 400
    assert len(error_rows(kuroneko, db)) == 1


# ------------------------------------------------------------------ 決済直前ログ


def lose_order(db, order_id):
    """The shop lost the order (Yamato keeps the transaction): the M23 situation."""
    db.session.delete(db.session.get(simple_shop.ShopOrder, order_id))
    db.session.commit()


def logs(kuroneko, db):
    db.session.expire_all()
    return db.session.scalars(sa.select(kuroneko.models.PrepaymentLog)
                              .order_by(kuroneko.models.PrepaymentLog.id)).all()


def test_list_search_and_detail(app, client, db, kuroneko, shop):
    _, first = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    _, second = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    html = page(client, "/prepayment")
    assert first.payment.order_no in html and second.payment.order_no in html and "2件" in html
    # the manual's columns first: 登録日, リンクキー, 氏名, 決済種別
    assert html.index("<th>登録日</th>") < html.index("<th>リンクキー</th>") \
        < html.index("<th>氏名</th>") < html.index("<th>決済種別</th>")
    assert "<td>山田　太郎</td>" in html
    found = page(client, f"/prepayment?key={first.payment.order_no}")
    assert first.payment.order_no in found and second.payment.order_no not in found
    assert "1件" in found
    log = logs(kuroneko, db)[0]
    detail = page(client, f"/prepayment/{log.id}")
    for value in ("山田　太郎 様", "ヤマダ タロウ 様", "<td>100-0001</td>", "<td>東京都</td>",
                  "<td>千代田区千代田</td>", "<td>1-1</td>", "テスト商品", "3,000円"):
        assert value in detail
    assert "このログの受注" in detail and 'id="restore-form"' not in detail   # order exists
    assert page(client, "/prepayment/99999", status=404)


def test_restore_order_from_the_log(app, client, db, kuroneko, shop):
    order, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    old_id = order.id
    lose_order(db, old_id)
    log = logs(kuroneko, db)[0]
    html = page(client, f"/prepayment/{log.id}")
    assert 'id="restore-form"' in html and "受注データ登録" in html
    response = post(client, f"/prepayment/{log.id}", f"/prepayment/{log.id}/restore",
                    {"placed_at": "log"})
    assert "受注データを登録しました" in text(response)
    log = logs(kuroneko, db)[0]
    assert log.restored_order_id and log.restored_at
    restored = db.session.get(simple_shop.ShopOrder, int(log.restored_order_id))
    assert restored is not None and restored.total == 3000
    assert restored.billing["name"] == "山田　太郎"
    jst_created = log.created_at + timedelta(hours=9)
    assert abs((restored.placed_at - jst_created).total_seconds()) < 2
    db.session.expire_all()
    payment = db.session.get(kuroneko.models.Payment, outcome.payment.id)
    assert payment.host_order_id == log.restored_order_id      # the payment follows
    # pressing it again never makes a second order
    response = post(client, "/prepayment", f"/prepayment/{log.id}/restore",
                    {"placed_at": "now"})
    assert "既に存在するため、受注データを登録できません" in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(simple_shop.ShopOrder)) == 1


def test_restore_with_now_and_refused_while_order_exists(app, client, db, kuroneko, shop):
    order, _ = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    log = logs(kuroneko, db)[0]
    # crafted POST while the order exists: refused
    token_page = f"/prepayment/{log.id}"
    from test_admin_support import csrf_token
    token = csrf_token(page(client, "/prepayment"))
    response = client.post(f"{PREFIX}/prepayment/{log.id}/restore",
                           data={"csrf_token": token, "placed_at": "now"}, follow_redirects=True)
    assert "既に存在するため" in text(response)
    lose_order(db, order.id)
    before = datetime.now()
    post(client, token_page, f"/prepayment/{log.id}/restore", {"placed_at": "now"})
    log = logs(kuroneko, db)[0]
    restored = db.session.get(simple_shop.ShopOrder, int(log.restored_order_id))
    assert restored.placed_at >= before.replace(microsecond=0) - timedelta(seconds=1)


def test_restore_refused_when_switched_off(app, client, db, kuroneko, shop):
    order, _ = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    lose_order(db, order.id)
    save_settings({"prepayment_log_enabled": False})
    log = logs(kuroneko, db)[0]
    html = page(client, f"/prepayment/{log.id}")
    assert 'id="restore-form"' not in html
    response = post(client, "/prepayment", f"/prepayment/{log.id}/restore",
                    {"placed_at": "log"})
    assert "利用しない設定のため" in text(response)
    assert logs(kuroneko, db)[0].restored_order_id is None


def test_delete_selected_or_all_and_token_required(app, client, db, kuroneko, shop):
    for _ in range(3):
        place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    ids = [l.id for l in logs(kuroneko, db)]
    assert client.post(PREFIX + "/prepayment/delete", data={"all": "1"}).status_code == 400
    assert len(logs(kuroneko, db)) == 3
    response = post(client, "/prepayment", "/prepayment/delete", {"log_id": [str(ids[0])]})
    assert "決済直前ログを1件削除しました。" in text(response)
    assert [l.id for l in logs(kuroneko, db)] == ids[1:]
    response = post(client, "/prepayment", "/prepayment/delete", {})
    assert "削除するログを選んでください。" in text(response)
    post(client, "/prepayment", "/prepayment/delete", {"all": "1"})
    assert logs(kuroneko, db) == []


def test_two_admins_restore_at_the_same_moment(app, db, kuroneko, shop):
    import threading

    from test_admin_support import csrf_token
    order, _ = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    lose_order(db, order.id)
    log = logs(kuroneko, db)[0]
    db.session.rollback()
    clients = [app.test_client(), app.test_client()]
    tokens = [csrf_token(page(c, f"/prepayment/{log.id}")) for c in clients]
    barrier = threading.Barrier(2)
    results = [None, None]

    def press(i):
        barrier.wait()
        response = clients[i].post(f"{PREFIX}/prepayment/{log.id}/restore",
                                   data={"csrf_token": tokens[i], "placed_at": "log"},
                                   follow_redirects=True)
        results[i] = text(response)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum("受注データを登録しました" in r for r in results) == 1
    assert sum("受注データを登録できません" in r for r in results) == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(simple_shop.ShopOrder)) == 1


def test_error_statuses_carry_no_internal_codes(app, client, db, kuroneko):
    """ステータス is the message as the manual shows it; our own codes appear in words in
    詳細, never as capture_rule：/drift：/connection： prefixes."""
    E = kuroneko.models.ErrorLog
    for code, message in (("capture_rule", "送り状番号がありません。"),
                          ("drift", "ヤマトの取引状況は「取消済み」です。"),
                          ("connection", "ヤマトに接続できませんでした。"),
                          ("kaara010E", "決済金額総計:指定桁数(6桁)以内であること"),
                          ("telNum", "電話番号は数字とハイフンで入力してください。")):
        db.session.add(E(order_no="1234567890", kind="invoice", operation="KAASL0010",
                         code=code, message=message))
    db.session.commit()
    html = page(client, "/errors").split('id="error-log"')[1]
    for code in ("capture_rule", "drift", "connection", "telNum：", "kaara010E："):
        assert code not in html, code
    assert "<td>決済金額総計:指定桁数(6桁)以内であること</td>" in html
    for words in ("売上確定の条件を満たしていません", "ヤマトとの状態不一致",
                  "接続エラー（ヤマトに届いていません）", "エラーコード：kaara010E",
                  "入力エラー（telNum）"):
        assert words in html, words
