"""Forms of the jobs and B2 screens (kept apart from ``forms.py``): the CSRF token comes from
``AdminForm``; fields are read and checked by the views (ids, dates, files) and the settings
rules (``settings.VALIDATORS``), so every rule lives in one place."""
from __future__ import annotations

from wtforms import StringField

from .forms import AdminForm


class JobButtonForm(AdminForm):
    """「失敗分を再実行」, 「中止」: only the CSRF token."""


class B2ImportForm(AdminForm):
    """「B2出荷データ取込」: the file is read from ``request.files["file"]`` by the view."""


class B2ExportForm(AdminForm):
    """「B2出荷データ出力」: ticked ``payment_id`` values, or ``scope=all`` with the filters."""
    scope = StringField("対象")
    since = StringField("受注日（から）")
    until = StringField("受注日（まで）")
    unexported = StringField("未出力のみ")


class B2SettingsForm(AdminForm):
    """B2クラウド settings; the per-method 送り状種類/クール区分 selects are read by the view."""
    b2_shipper_name = StringField("ご依頼主名")
    b2_shipper_name_kana = StringField("ご依頼主略称カナ")
    b2_shipper_phone = StringField("ご依頼主電話番号")
    b2_shipper_postal_code = StringField("ご依頼主郵便番号")
    b2_shipper_address = StringField("ご依頼主住所")
    b2_shipper_building = StringField("ご依頼主住所（アパートマンション名）")
    b2_billing_customer_code = StringField("ご請求先顧客コード")
    b2_billing_class_code = StringField("ご請求先分類コード")
    b2_freight_no = StringField("運賃管理番号")
    b2_header_row = StringField("見出し行")
    b2_columns = StringField("列数")
    b2_notice_mail = StringField("お届け予定eメール")
