"""Strict half-width B2 values: keys, phone numbers, postal codes, codes, dates, e-mail.

Unlike free text (``charset.fit``), these are never cut or replaced: a value that does not
fit is refused with a Japanese sentence (:class:`InvalidValue`), because a wrong phone number
or postal code on a slip is worse than a row the merchant has to fix.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

KEY_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,49}$")
_PHONE_RE = re.compile(r"^[0-9]+(-[0-9]+)*$")
_POSTAL_RE = re.compile(r"^([0-9]{3})-?([0-9]{4})$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*"
                       r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SEPARATOR_SPACES = re.compile(r"[\s\u3000]+")
MAX_PHONE = 15
MAX_EMAIL = 60


class InvalidValue(ValueError):
    """``message`` is a Japanese sentence naming the fix (the value itself is not repeated)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _half(value: str | None) -> str:
    """Full-width digits/letters/hyphens → half-width, spaces removed."""
    text = unicodedata.normalize("NFKC", value or "")
    text = text.replace("−", "-").replace("‐", "-").replace("ー", "-").replace("―", "-")
    return _SEPARATOR_SPACES.sub("", text)


def customer_key(value: str) -> str:
    """お客様管理番号: 1–50 of ``[0-9A-Za-z_-]``, starting with a letter or digit (so it is
    never a spreadsheet formula and always comes back from B2 unchanged)."""
    if not isinstance(value, str) or not KEY_RE.match(value):
        raise InvalidValue("お客様管理番号は半角英数字・ハイフン・アンダーバーの50文字以内"
                           "（先頭は英数字）にしてください。")
    return value


def phone(value: str | None, label: str) -> str:
    """Digits and hyphens, 10–12 digits (domestic numbers), at most 15 characters."""
    text = _half(value)
    if not text:
        raise InvalidValue(f"{label}を入力してください。")
    digits = text.replace("-", "")
    if not _PHONE_RE.match(text) or not 10 <= len(digits) <= 12 or len(text) > MAX_PHONE:
        raise InvalidValue(f"{label}は半角数字とハイフンで、10〜12桁の番号にしてください。")
    return text


def postal_code(value: str | None, label: str) -> str:
    """``NNN-NNNN`` (the leading zero kept: it is text, never a number)."""
    text = _half(value).lstrip("〒")
    if not text:
        raise InvalidValue(f"{label}を入力してください。")
    match = _POSTAL_RE.match(text)
    if not match:
        raise InvalidValue(f"{label}は7桁（例 150-0001）で入力してください。")
    return f"{match.group(1)}-{match.group(2)}"


def digits(value: str | None, label: str, lengths: range) -> str:
    """A code of ASCII digits whose length is in ``lengths`` (請求先顧客コード etc.)."""
    text = _half(value)
    if len(text) not in lengths or (text and not (text.isascii() and text.isdigit())):
        low, high = lengths.start, lengths.stop - 1
        size = f"{low}桁" if low == high else f"{low}〜{high}桁"
        raise InvalidValue(f"{label}は半角数字{size}で入力してください。")
    return text


def email(value: str | None, label: str) -> str:
    text = (value or "").strip()
    if not text.isascii() or len(text) > MAX_EMAIL or not _EMAIL_RE.match(text):
        raise InvalidValue(f"{label}は半角{MAX_EMAIL}文字以内の正しいメールアドレスにしてください。")
    return text


def b2_date(value: date) -> str:
    """``YYYY/MM/DD`` (B2 refuses ``YYYY-MM-DD``)."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def bundle_key(key: str) -> str:
    """複数口くくりキー from a customer key: its letters and digits (one source says B2 takes no
    hyphen here), at most 20."""
    text = re.sub(r"[^0-9A-Za-z]", "", key)
    if not text or len(text) > 20:
        raise InvalidValue("複数口の送り状には、英数字20文字以内のお客様管理番号が必要です。")
    return text
