"""Forms of the customer pages: WTForms session CSRF (no Flask-WTF dependency)."""
from __future__ import annotations

from wtforms import StringField
from wtforms.validators import InputRequired, Regexp

from ..forms import SessionCsrfForm

MSG_EXPIRED = "画面の有効期限が切れました。もう一度お試しください。"


class CheckoutForm(SessionCsrfForm):
    """Base of the customer pages' forms (WTForms' default 30-minute token)."""


def _to_halfwidth_digits(value: str | None) -> str:
    if value is None:
        return ""
    return value.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))


class SmsCodeForm(CheckoutForm):
    code = StringField("認証番号（4桁）", filters=[_to_halfwidth_digits], validators=[
        InputRequired("認証番号を入力してください。"),
        Regexp(r"^[0-9]{4}$", message="認証番号は4桁の数字で入力してください。")])


class ButtonForm(CheckoutForm):
    """「戻る」 and 「再送信」: nothing but the CSRF token."""
