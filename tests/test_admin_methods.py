"""Admin 支払方法 page (M8–M9) through the real rules and DB."""
from __future__ import annotations

import sqlalchemy as sa

from flask_kuroneko import rules
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from service_support import place, setup_shop
from test_admin_support import page, post, text


def methods():
    return [(m.kind, m.name, m.active) for m in rules.list_methods()]


def test_list_add_one_per_type(app, client, db):
    html = page(client, "/methods")
    assert "支払方法が登録されていません" in html
    assert "後払い払込票タイプ（クロネコ代金後払いサービス）" in html
    response = post(client, "/methods", "/methods/new", {"kind": "invoice", "name": "",
                                                           "description_html": ""})
    assert "を追加しました" in text(response)
    assert methods() == [("invoice", rules.DEFAULT_METHOD_NAMES[rules.PaymentKind.INVOICE], False)]
    # the same type again is refused with the rule's message (crafted POST: the form hides it)
    response = post(client, "/methods", "/methods/new", {"kind": "invoice", "name": "二つ目"})
    assert "同じ決済種別の支払方法は1つまでです" in text(response)
    assert len(methods()) == 1
    post(client, "/methods", "/methods/new", {"kind": "smartphone", "name": "スマホで後払い"})
    html = page(client, "/methods")
    assert "2種類とも登録済みです" in html


def test_rename_describe_activate_and_smartphone_rule(app, client, db):
    invoice = rules.create_method("invoice", active=False)
    phone = rules.create_method("smartphone", active=False)
    response = post(client, "/methods", f"/methods/{invoice.id}", {
        "name": "後払い（コンビニ）", "description_html": "<b>請求書</b>が届きます", "active": "1"})
    assert "を更新しました" in text(response)
    db.session.expire_all()
    method = rules.get_method(invoice.id)
    assert (method.name, method.description_html, method.active) == \
        ("後払い（コンビニ）", "<b>請求書</b>が届きます", True)
    # the HTML description is shown escaped in the edit box, not executed in the admin
    assert "&lt;b&gt;請求書&lt;/b&gt;" in text(response)
    response = post(client, "/methods", f"/methods/{phone.id}", {"name": "スマホ", "active": "1"})
    assert "スマホタイプ利用" in text(response)
    db.session.expire_all()
    assert rules.get_method(phone.id).active is False
    save_settings({"smartphone_enabled": True})
    post(client, "/methods", f"/methods/{phone.id}", {"name": "スマホ", "active": "1"})
    db.session.expire_all()
    assert rules.get_method(phone.id).active is True
    response = post(client, "/methods", f"/methods/{phone.id}", {"name": "", "active": "1"})
    assert "支払方法名を入力してください。" in text(response)


def test_reorder_with_up_and_down(app, client, db):
    first = rules.create_method("invoice")
    second = rules.create_method("smartphone", active=False)
    post(client, "/methods", f"/methods/{second.id}/move/up")
    db.session.expire_all()
    assert [m.id for m in rules.list_methods()] == [second.id, first.id]
    post(client, "/methods", f"/methods/{second.id}/move/down")
    db.session.expire_all()
    assert [m.id for m in rules.list_methods()] == [first.id, second.id]
    post(client, "/methods", "/methods/order", {"method_id": [str(second.id), str(first.id)]})
    db.session.expire_all()
    assert [m.id for m in rules.list_methods()] == [second.id, first.id]
    response = post(client, "/methods", "/methods/order", {"method_id": [str(second.id)]})
    assert "並び順を保存できませんでした" in text(response)


def test_delete_refused_while_payments_use_it(app, client, db, kuroneko):
    shop = setup_shop()
    _, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    assert outcome.kind == "authorized"
    response = post(client, "/methods", f"/methods/{shop['invoice']}/delete")
    assert "1件の決済で使われているため削除できません" in text(response)
    assert "「停止」にしてください" in text(response)
    db.session.expire_all()
    assert rules.get_method(shop["invoice"]) is not None
    response = post(client, "/methods", f"/methods/{shop['smartphone']}/delete")
    assert "を削除しました" in text(response)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(
        kuroneko.models.PaymentMethod))
    assert count == 1


def test_method_posts_need_the_token(app, client, db):
    method = rules.create_method("invoice")
    for path in (f"/admin/kuroneko/methods/{method.id}/delete",
                 f"/admin/kuroneko/methods/{method.id}/move/down", "/admin/kuroneko/methods/new"):
        assert client.post(path, data={"kind": "smartphone"}).status_code == 400
    db.session.expire_all()
    assert [m.id for m in rules.list_methods()] == [method.id]
    assert simple_shop.db is db
