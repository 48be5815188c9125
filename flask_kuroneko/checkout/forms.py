"""Forms of the customer pages: WTForms session CSRF (no Flask-WTF dependency)."""
from __future__ import annotations

from flask import current_app, session
from wtforms import Form, StringField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import InputRequired, Regexp

MSG_EXPIRED = "画面の有効期限が切れました。もう一度お試しください。"


class CheckoutForm(Form):
    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self) -> bytes:
            secret = current_app.config.get("SECRET_KEY") or ""
            return secret.encode() if isinstance(secret, str) else secret

        @property
        def csrf_context(self):
            return session

    @property
    def csrf_failed(self) -> bool:
        return bool(self.csrf_token.errors)


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
