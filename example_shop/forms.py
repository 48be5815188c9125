"""WTForms of the shop. Every POST form carries a session CSRF token (ShopForm)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask import current_app, session
from wtforms import (DateField, EmailField, Form, HiddenField, IntegerField, PasswordField,
                     RadioField, SelectField, StringField)
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange,
                                Optional, Regexp, ValidationError)

from flask_kuroneko import PREFECTURES
from flask_kuroneko.yamato.tracking import InvalidTrackingNumber, normalize_tracking_number

from .catalog import ADMIN_SETTABLE_STATUSES, CARRIERS, DELIVERY_METHODS, YAMATO

try:   # WTForms >= 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - WTForms 3.1/3.2
    SelectChoice = None

REQUIRED = "必須項目です。"
JST = timezone(timedelta(hours=9), "JST")


def choice(value: str, label: str):
    """One option of a select/radio field, in the form the installed WTForms prefers."""
    return SelectChoice(value, label) if SelectChoice is not None else (value, label)


def choice_values(field) -> list[str]:
    return [c.value if SelectChoice is not None and isinstance(c, SelectChoice) else c[0]
            for c in field.choices]
_TRACKING = re.compile(r"[0-9A-Za-z-]+")
_PHONE = re.compile(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")
_POSTAL = re.compile(r"^\d{3}-?\d{4}$")
# Yamato only checks for "@" between a local part and a domain (spec §3.1, kaara043E–045E).
_EMAIL = re.compile(r"^[!-?A-~]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
DESIRED_DATE_MIN_DAYS = 2
DESIRED_DATE_MAX_DAYS = 30


class ShopForm(Form):
    """Base form: WTForms session CSRF keyed by the app's SECRET_KEY."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self) -> bytes:
            return current_app.config["SECRET_KEY"].encode()

        @property
        def csrf_context(self):
            return session

    def csrf_failed(self) -> bool:
        return bool(self.meta.csrf and self.csrf_token.errors)


def _prefecture_choices(blank: str) -> list[tuple[str, str]]:
    return [choice("", blank)] + [choice(p, p) for p in PREFECTURES]


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


class CsrfForm(ShopForm):
    """A POST button with nothing but the CSRF token."""


class CartQuantityForm(ShopForm):
    product_id = HiddenField()
    quantity = IntegerField("数量", validators=[InputRequired(), NumberRange(0, 99)])


class CustomerForm(ShopForm):
    """Step 1: お客様情報, お届け先, 配送方法."""
    name = StringField("お名前", validators=[DataRequired(REQUIRED), Length(max=30)])
    name_kana = StringField("フリガナ", validators=[DataRequired(REQUIRED), Length(max=40)])
    postal_code = StringField("郵便番号", validators=[
        DataRequired(REQUIRED), Regexp(_POSTAL, message="郵便番号は7桁の数字で入力してください。")])
    prefecture = SelectField("都道府県", choices=_prefecture_choices("選択してください"),
                             validators=[DataRequired("都道府県を選択してください。")])
    address1 = StringField("市区町村・番地", validators=[DataRequired(REQUIRED), Length(max=50)])
    address2 = StringField("建物名・部屋番号", validators=[Optional(), Length(max=50)])
    phone = StringField("電話番号", validators=[
        DataRequired(REQUIRED), Regexp(_PHONE, message="電話番号を正しく入力してください。")])
    email = EmailField("メールアドレス", validators=[
        DataRequired(REQUIRED), Length(max=64),
        Regexp(_EMAIL, message="メールアドレスを正しく入力してください。")])
    destination = RadioField("お届け先", default="self", choices=[
        choice("self", "ご注文者様と同じ"), choice("other", "別のお届け先を指定する"),
        choice("multiple", "複数のお届け先に送る（後日メールでご指定）")])
    ship_name = StringField("お届け先のお名前", validators=[Optional(), Length(max=30)])
    ship_postal_code = StringField("お届け先の郵便番号", validators=[
        Optional(), Regexp(_POSTAL, message="郵便番号は7桁の数字で入力してください。")])
    ship_prefecture = SelectField("お届け先の都道府県", choices=_prefecture_choices("選択してください"),
                                  validators=[Optional()])
    ship_address1 = StringField("お届け先の市区町村・番地", validators=[Optional(), Length(max=50)])
    ship_address2 = StringField("お届け先の建物名・部屋番号", validators=[Optional(), Length(max=50)])
    ship_phone = StringField("お届け先の電話番号", validators=[
        Optional(), Regexp(_PHONE, message="電話番号を正しく入力してください。")])
    delivery_method = RadioField("配送方法", default=DELIVERY_METHODS[0].id,
                                 choices=[choice(m.id, f"{m.name}（送料 {m.fee:,}円）")
                                          for m in DELIVERY_METHODS],
                                 validators=[InputRequired("配送方法を選択してください。")])
    desired_date = DateField("お届け希望日", validators=[Optional()])

    def validate_postal_code(self, field) -> None:
        field.data = _digits(field.data)

    def validate_phone(self, field) -> None:
        field.data = _digits(field.data)

    def validate_ship_name(self, field) -> None:
        if self.destination.data != "other":
            return
        for required in (self.ship_name, self.ship_postal_code, self.ship_prefecture,
                         self.ship_address1):
            if not (required.data or "").strip():
                raise ValidationError("別のお届け先のお名前・郵便番号・住所を入力してください。")
        self.ship_postal_code.data = _digits(self.ship_postal_code.data)
        self.ship_phone.data = _digits(self.ship_phone.data)

    def validate_desired_date(self, field) -> None:
        if field.data is None:
            return
        today = datetime.now(JST).date()       # the shop's calendar, whatever the server's zone
        first = today + timedelta(days=DESIRED_DATE_MIN_DAYS)
        last = today + timedelta(days=DESIRED_DATE_MAX_DAYS)
        if not first <= field.data <= last:
            raise ValidationError(
                f"お届け希望日は{first:%-m月%-d日}から{last:%-m月%-d日}の間で指定してください。")


class PaymentChoiceForm(ShopForm):
    """Step 2: お支払方法. Choices are filled per request from the active methods."""
    payment_method = RadioField("お支払方法", choices=[], validate_choice=False,
                                validators=[InputRequired("お支払方法を選択してください。")])

    def validate_payment_method(self, field) -> None:
        if field.data not in choice_values(field):
            raise ValidationError("お支払方法を選択し直してください。")


class PlaceOrderForm(ShopForm):
    """Step 3: 「上記内容で注文する」 with the one-time checkout token."""
    checkout_token = HiddenField(validators=[DataRequired()])


class AdminLoginForm(ShopForm):
    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED)])


class AdminOrderForm(ShopForm):
    """Order edit of the demo admin: 対応状況 / 配送会社名 / 送り状番号."""
    status = SelectField("対応状況", choices=[choice(s, s) for s in ADMIN_SETTABLE_STATUSES])
    carrier = SelectField("配送会社名", choices=[choice("", "（未設定）")] + [choice(c, c) for c in CARRIERS],
                          validators=[Optional()])
    tracking_no = StringField("送り状番号", validators=[Optional(), Length(max=20)])

    def validate_tracking_no(self, field) -> None:
        """A Yamato 送り状番号 is checked at the field (12 digits, the seven check; hyphens,
        spaces and full-width digits are fine), so a typo is seen here instead of as a refusal
        in the 決済エラーログ after the save. Other carriers: letters, digits and hyphens."""
        value = (field.data or "").strip()
        if not value:
            return
        if self.carrier.data == YAMATO:
            try:
                field.data = normalize_tracking_number(value)
            except InvalidTrackingNumber as exc:
                raise ValidationError(exc.reason) from None
        elif not _TRACKING.fullmatch(value):
            raise ValidationError("送り状番号は半角英数字とハイフンで入力してください。")

