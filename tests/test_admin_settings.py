"""Admin blueprint: access guard, CSRF, layout, and the 「クロネコ代金後払い」 settings page
(M1–M7) with 接続テスト — through the real extension, settings module, sandbox and DB."""
from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import Kuroneko
from flask_kuroneko.settings import effective_settings, save_settings, stored_values
from hosts import simple_shop
from test_admin_support import PREFIX, csrf_token, page, post, text

SECRET = "Zq7pW3x9"   # a password that must never come back in any page


def add_delivery_methods(*names):
    rows = [simple_shop.DeliveryMethod(name=n) for n in names]
    simple_shop.db.session.add_all(rows)
    simple_shop.db.session.commit()
    return [r.id for r in rows]


def settings_form(**overrides) -> dict:
    data = {"merchant_code": "12345678901", "password": "", "environment": "sandbox",
            "other_carrier_enabled": "0", "smartphone_enabled": "0", "ship_within_days": "10",
            "fee_mode": "fixed", "fee_fixed": "", "credit_limit": "55000",
            "cancel_with_order": "0", "change_amount_with_order": "0",
            "prepayment_log_enabled": "1", "conversion_tag": "", "conversion_on_review": "0"}
    data.update(overrides)
    return data


# ------------------------------------------------------------------ access, CSRF, layout


def test_admin_closed_without_guard(tmp_path):
    db = SQLAlchemy()
    ext = Kuroneko()
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'g.sqlite'}")
    db.init_app(app)
    ext.init_app(app, db)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    for path in ("/", "/settings", "/payments", "/errors", "/prepayment", "/methods"):
        response = client.get(PREFIX + path)
        assert response.status_code == 403
        assert "@kuroneko.admin_guard" in text(response)
    assert client.post(PREFIX + "/errors/delete").status_code == 403


def test_guard_response_is_returned_and_none_opens(app, client, monkeypatch):
    calls = []

    def login_redirect():
        calls.append(1)
        from flask import redirect
        return redirect("/login")
    monkeypatch.setitem(simple_shop.kuroneko.registered_hooks, "admin_guard", login_redirect)
    response = client.get(PREFIX + "/settings")
    assert response.status_code == 302 and response.location.endswith("/login")
    assert calls
    monkeypatch.setitem(simple_shop.kuroneko.registered_hooks, "admin_guard", lambda: None)
    assert client.get(PREFIX + "/settings").status_code == 200


def test_index_redirects_to_payments(client):
    response = client.get(PREFIX + "/")
    assert response.status_code == 302 and response.location.endswith("/payments")


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, db):
    response = client.post(PREFIX + "/settings", data=settings_form(merchant_code="11111111111"))
    assert response.status_code == 400
    assert "画面の有効期限が切れたか、不正な送信です" in text(response)
    assert stored_values()["merchant_code"] == ""
    bad = client.post(PREFIX + "/settings", data=settings_form(merchant_code="11111111111",
                                                              csrf_token="forged"))
    assert bad.status_code == 400
    assert stored_values()["merchant_code"] == ""


def test_csrf_token_of_another_session_is_refused(app, db):
    first, second = app.test_client(), app.test_client()
    token = csrf_token(page(first, "/settings"))
    page(second, "/settings")
    response = second.post(PREFIX + "/settings",
                           data=settings_form(merchant_code="11111111111", csrf_token=token))
    assert response.status_code == 400
    assert stored_values()["merchant_code"] == ""


def test_standalone_layout_without_host_base_template(client):
    html = page(client, "/settings")
    assert html.startswith("<!doctype html>")
    assert "クロネコ代金後払い 管理" in html and 'lang="ja"' in html


def test_host_base_template_is_used(app, client, tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "host_base.html").write_text(
        "<html><body><div id='host-layout'>{% block content %}{% endblock %}</div></body></html>",
        encoding="utf-8")
    import jinja2
    app.jinja_loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(tmp_path / "tpl")),
                                            app.jinja_loader])
    app.config["KURONEKO_BASE_TEMPLATE"] = "host_base.html"
    assert "id='host-layout'" in page(client, "/settings")


def test_host_csrfprotect_is_told_to_exempt_the_blueprint(database_url):
    """Flask-WTF is not a dependency: a stand-in with CSRFProtect's ``exempt`` API, registered
    where CSRFProtect registers itself, must receive our blueprint (our own token stays on)."""
    exempted = []

    class HostCsrf:
        def exempt(self, view):
            exempted.append(view)
            return view

    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI=database_url)
    app.extensions["csrf"] = HostCsrf()
    db = SQLAlchemy()
    db.init_app(app)
    Kuroneko().init_app(app, db)
    assert app.blueprints["kuroneko_admin"] in exempted
    assert app.blueprints["kuroneko_checkout"] in exempted


# ------------------------------------------------------------------ settings page


@pytest.mark.parametrize("app_config", [{"KURONEKO_ENVIRONMENT": None}])   # not pinned
def test_settings_page_lists_delivery_methods_and_saves(app, client, db, app_config):
    ids = add_delivery_methods("宅急便", "レターパック", "佐川急便")
    html = page(client, "/settings")
    for label in ("加盟店コード", "パスワード", "動作環境", "テスト環境", "本番環境", "サンドボックス",
                  "クロネコヤマト配送", "他社配送オプション", "スマホタイプ利用", "出荷の期限（目安）",
                  "固定額", "変動額", "宅急便", "レターパック", "変更する場合のみ入力"):
        assert label in html, label
    response = post(client, "/settings", "/settings", {
        **settings_form(merchant_code="11111111111", password=SECRET, environment="test",
                        smartphone_enabled="1", ship_within_days="7", fee_mode="tiered"),
        "yamato_delivery_method_ids": [str(ids[0]), str(ids[1]), "999"],   # 999: not the shop's
        "tier_up_to": ["10000", "30000", "", ""], "tier_fee": ["200", "300", "400", ""]})
    assert response.status_code == 200 and "設定を保存しました" in text(response)
    current = effective_settings()
    assert current.merchant_code == "11111111111" and current.password == SECRET
    assert current.environment == "test" and current.smartphone_enabled is True
    assert current.ship_within_days == 7
    assert current.yamato_delivery_method_ids == tuple(sorted([str(ids[0]), str(ids[1])]))
    assert current.fee_mode == "tiered"
    assert current.fee_tiers == ((10000, 200), (30000, 300), (None, 400))
    html = text(response)
    assert SECRET not in html
    assert 'value="10000"' in html and 'value="400"' in html
    # the manual's two environments first, then our sandbox, which stays selectable: a shop
    # that tried テスト環境 can go back to the simulator
    form_html = html.split('id="kuroneko-settings"')[1].split("</form>")[0]
    assert form_html.index("テスト環境") < form_html.index("本番環境") < form_html.index("サンドボックス")
    response = post(client, "/settings", "/settings", settings_form(environment="sandbox"))
    assert "設定を保存しました" in text(response)
    assert effective_settings().environment == "sandbox"
    assert 'value="sandbox" checked' in text(response)


def test_empty_password_keeps_the_stored_one_and_is_never_rendered(app, client, db):
    save_settings({"merchant_code": "11111111111", "password": SECRET})
    html = page(client, "/settings")
    assert SECRET not in html
    assert "登録済み" in html
    post(client, "/settings", "/settings", settings_form(merchant_code="22222222222", password=""))
    assert effective_settings().password == SECRET
    assert effective_settings().merchant_code == "22222222222"
    assert SECRET not in page(client, "/settings")


def test_validation_messages_in_japanese_for_every_bad_field(app, client, db):
    response = post(client, "/settings", "/settings", {
        **settings_form(merchant_code="12ab", password="パスワード", ship_within_days="abc",
                        fee_fixed="-5"),
        "tier_up_to": ["3000", "1000"], "tier_fee": ["100", "200"]})
    assert response.status_code == 400
    html = text(response)
    assert "入力内容に誤りがあります" in html
    assert "加盟店コードは11桁の半角数字で入力してください。" in html
    assert "パスワードは8文字以内の半角英数字で入力してください。" in html
    assert "出荷の期限（目安）は半角数字で入力してください。" in html
    assert "手数料（固定額）は0〜" in html
    assert "上限金額は前の行" in html
    assert stored_values()["merchant_code"] == ""     # nothing saved
    assert 'value="12ab"' in html                     # the admin's input is kept to fix it
    assert "パスワード</label></th>" in html and 'value="パスワード"' not in html


@pytest.mark.parametrize("app_config", [{"KURONEKO_PASSWORD": "Lock9pw", "KURONEKO_SHIP_WITHIN_DAYS": 5}])
def test_config_locked_fields_are_read_only(app, client, db, app_config):
    html = page(client, "/settings")
    assert "KURONEKO_PASSWORD" in html and "KURONEKO_SHIP_WITHIN_DAYS" in html
    assert "Lock9pw" not in html
    assert 'name="ship_within_days" id="ship_within_days" value="5" size="4" disabled' in html
    assert 'name="password" id="password"' not in html
    # a crafted POST of a locked field does not change it (disabled inputs are not submitted)
    response = post(client, "/settings", "/settings",
                    settings_form(ship_within_days="9", password="other1", merchant_code="11111111111"))
    assert response.status_code == 200, text(response)
    current = effective_settings()
    assert current.ship_within_days == 5 and current.password == "Lock9pw"
    assert current.merchant_code == "11111111111"
    assert stored_values()["password"] == ""


def test_shop_without_delivery_methods_is_told(app, client, db):
    assert "配送方法が登録されていません" in page(client, "/settings")


# ------------------------------------------------------------------ 接続テスト, diagnostics


def test_connection_test_success_in_sandbox(app, client, db, simulator):
    response = post(client, "/settings", "/settings/test")
    assert "接続・認証に成功しました" in text(response)


def test_connection_test_wrong_password(app, client, db, simulator, caplog):
    caplog.set_level(logging.DEBUG)
    simulator.configure_merchant("11111111111", password="right1")
    save_settings({"merchant_code": "11111111111", "password": "right1"})
    simulator.configure_merchant("11111111111", password="changed2")   # Yamato changed it
    response = post(client, "/settings", "/settings/test")
    html = text(response)
    assert "加盟店コードまたはパスワードが正しくありません" in html
    assert "right1" not in html and "right1" not in caplog.text


def test_diagnostics_list(app, client, db):
    html = page(client, "/settings")
    assert 'id="diagnostics"' in html
    assert "アプリケーションのフック" in html and "すべて登録されています" in html
    assert "未確定の処理" in html


@pytest.mark.parametrize("app_config", [{"KURONEKO_SANDBOX_URL": "http://127.0.0.1:9"}])
def test_connection_test_unreachable(app, client, db, app_config):
    """Nothing listens on the discard port: the admin is told to check the network."""
    response = post(client, "/settings", "/settings/test")
    assert "ヤマトに接続できませんでした" in text(response)


def test_settings_page_without_delivery_hook(app, client, db, monkeypatch):
    save_settings({"yamato_delivery_method_ids": ["1"]})
    monkeypatch.delitem(simple_shop.kuroneko.registered_hooks, "delivery_methods_loader")
    html = page(client, "/settings")
    assert "@kuroneko.delivery_methods_loader が登録されていません。" in html
    assert "未登録: @kuroneko.delivery_methods_loader" in html
    post(client, "/settings", "/settings", settings_form(ship_within_days="8"))
    assert stored_values()["ship_within_days"] == 8
    assert stored_values()["yamato_delivery_method_ids"] == ["1"]     # left alone


def test_every_error_is_tied_to_its_field(app, client, db):
    """A screen reader reads each problem with its input (aria-describedby), which is marked
    invalid; valid inputs are not."""
    response = post(client, "/settings", "/settings",
                    settings_form(merchant_code="12ab", ship_within_days="x"))
    html = text(response)
    for name in ("merchant_code", "ship_within_days"):
        assert f'id="error-{name}"' in html
        field = re.search(rf'<input type="text" name="{name}"[^>]*>', html).group(0)
        assert f'aria-describedby="error-{name}"' in field and 'aria-invalid="true"' in field
    credit = re.search(r'<input type="text" name="credit_limit"[^>]*>', html).group(0)
    assert "aria-invalid" not in credit
    assert '<label for="merchant_code">加盟店コード</label>' in html
