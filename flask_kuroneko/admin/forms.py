"""Admin forms: one base class with WTForms session CSRF (no Flask-WTF dependency).

Business validation (merchant code format, fee tiers …) stays in ``settings``/``rules``; the
forms only carry the fields and the CSRF token so that rules live in one place. Radio buttons
and selects are rendered by the templates from the ``*_CHOICES`` lists below (plain strings in
the forms: WTForms 3.3 deprecates tuple choices and the values are checked by the rules).
"""
from __future__ import annotations

from datetime import timedelta

from wtforms import PasswordField, StringField, TextAreaField

from ..yamato.codes import ReissueReason
from ..forms import SessionCsrfForm

MSG_CSRF = "画面の有効期限が切れたか、不正な送信です。画面を再読み込みしてからやり直してください。"
USE_CHOICES = [("1", "利用する"), ("0", "利用しない")]
ENVIRONMENT_CHOICES = [("test", "テスト環境"), ("production", "本番環境")]
SANDBOX_CHOICE = ("sandbox", "サンドボックス（オフラインの試験用。ヤマトに接続しません）")
FEE_MODE_CHOICES = [("fixed", "固定額"), ("tiered", "変動額")]
ACTIVE_CHOICES = [("1", "使用"), ("0", "停止")]
REISSUE_CHOICES = [(str(int(r)), r.label) for r in ReissueReason]
PLACED_AT_CHOICES = [("log", "受注日時に登録日を設定"), ("now", "受注日時に現在の時刻を設定")]


class AdminForm(SessionCsrfForm):
    """Base of every admin form: a session-bound CSRF token, valid for two hours."""

    class Meta:  # WTForms merges this with SessionCsrfForm.Meta
        csrf_time_limit = timedelta(hours=2)


class ButtonForm(AdminForm):
    """A button that only needs the CSRF token (取消, ログ削除, 接続テスト …)."""


class SettingsForm(AdminForm):
    """M1–M7 plus the extension's switches (validated by ``settings.VALIDATORS``); the ticked
    delivery methods and the fee tier rows are read from the request's lists by the view."""
    merchant_code = StringField("加盟店コード")
    password = PasswordField("パスワード")                    # never rendered back
    environment = StringField("動作環境")
    other_carrier_enabled = StringField("他社配送オプション")
    smartphone_enabled = StringField("スマホタイプ利用")
    ship_within_days = StringField("出荷の期限（目安）")
    fee_mode = StringField("手数料")
    fee_fixed = StringField("固定額")
    credit_limit = StringField("ご利用限度額")
    cancel_with_order = StringField("受注キャンセルで取消")
    change_amount_with_order = StringField("受注金額変更で利用額変更")
    prepayment_log_enabled = StringField("決済直前ログより受注データ再作成")
    conversion_tag = TextAreaField("コンバージョンタグ")
    conversion_on_review = StringField("審査中でもタグを出力")


class MethodForm(AdminForm):
    """Edit one 支払方法 (M9)."""
    name = StringField("支払方法名")
    description_html = TextAreaField("説明")
    active = StringField("使用/停止")


class NewMethodForm(AdminForm):
    """Add a 支払方法 of a settlement type that has none yet (M8)."""
    kind = StringField("決済種別")
    name = StringField("支払方法名")
    description_html = TextAreaField("説明")


class ReissueForm(AdminForm):
    """請求書再発行: 不備事由 and an optional note."""
    reason = StringField("不備事由")
    reason_text = StringField("備考")


class RestoreForm(AdminForm):
    """「受注データ登録」: order date = the log's date or now (M23)."""
    placed_at = StringField("受注日", default="log")
