"""Yamato 送り状番号 (伝票番号, tracking number): normalisation and the seven check.

A Yamato 宅急便 slip number has 12 digits; the last one is the first eleven read as one number
modulo 7 (「セブンチェック」/ 7DR — spec b2-csv §8.4, atobarai API §KAASL, and public sources
such as the check-digit tables used for Yamato, Sagawa and Japan Post). Yamato prints it as
``NNNN-NNNN-NNNN``; merchants type it with spaces, hyphens of every width, or full-width digits;
a spreadsheet that re-saved a B2 file turns it into ``4.50102E+11``. This module accepts the
harmless variants, refuses everything else with a Japanese reason the merchant can act on,
and never guesses a digit.

Pure: no I/O, used by the B2 import and by anything else that receives a slip number.
"""
from __future__ import annotations

import logging
import re

from ..errors import KuronekoError

logger = logging.getLogger(__name__)

LENGTH = 12

# Separators people put between digit groups: spaces of any width and the dash family
# (ASCII hyphen, Unicode hyphens and dashes, minus signs, full-width hyphen-minus, the
# katakana long vowel mark an IME produces for "-", and its half-width form).
SEPARATORS = frozenset(
    " \t\u00a0\u3000"
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u30fc\uff70")
_FULLWIDTH_DIGITS = {chr(0xFF10 + i): str(i) for i in range(10)}
# What a spreadsheet shows for a 12-digit number it converted (4.50102E+11, 4.50102030405e11).
_EXPONENT_FORM = re.compile(r"^[0-9]+(\.[0-9]+)?[eE]\+?[0-9]+$")

# Reason codes (stable, for callers that branch on them); the message is for people.
EMPTY = "empty"
EXPONENT = "exponent"
CHARACTERS = "characters"
LENGTH_MISMATCH = "length"
CHECK_DIGIT = "check_digit"


class InvalidTrackingNumber(KuronekoError, ValueError):
    """A value that is not a Yamato 送り状番号.

    ``code`` is one of :data:`EMPTY`, :data:`EXPONENT`, :data:`CHARACTERS`,
    :data:`LENGTH_MISMATCH`, :data:`CHECK_DIGIT`; ``reason`` a Japanese sentence naming the fix.
    """

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def check_digit(first_eleven: str) -> int:
    """The seven-check digit of the first 11 digits (ASCII digits only)."""
    if len(first_eleven) != LENGTH - 1 or not (first_eleven.isascii() and first_eleven.isdigit()):
        raise ValueError("check_digit() needs exactly 11 ASCII digits")
    return int(first_eleven) % 7


def with_check_digit(first_eleven: str) -> str:
    """The complete 12-digit number for an 11-digit body (used to build test data)."""
    return first_eleven + str(check_digit(first_eleven))


def normalize_tracking_number(value: str | None) -> str:
    """The 12 ASCII digits of ``value``, or :class:`InvalidTrackingNumber` with the reason.

    Accepted: leading/trailing and inner spaces, hyphens and dashes of any width, full-width
    digits. Refused: anything else, a wrong length, a wrong check digit.
    """
    if value is not None and not isinstance(value, str):
        raise TypeError("a tracking number is text (a number would lose leading zeros)")
    text = (value or "").strip()
    if not text:
        raise InvalidTrackingNumber(EMPTY, "送り状番号が空です。")
    # Fast path: the form B2クラウド writes.
    if len(text) == LENGTH and text.isascii() and text.isdigit():
        digits = text
    else:
        digits = _digits_of(text)
    if len(digits) != LENGTH:
        raise InvalidTrackingNumber(
            LENGTH_MISMATCH,
            f"送り状番号「{_shown(text)}」は{len(digits)}桁です。ヤマト運輸の送り状番号は数字12桁です。")
    if int(digits[:-1]) % 7 != int(digits[-1]):
        raise InvalidTrackingNumber(
            CHECK_DIGIT,
            f"送り状番号「{_shown(text)}」は正しい番号ではありません（最後の1桁のチェックデジットが"
            "一致しません）。番号を確認してください。")
    return digits


def is_valid_tracking_number(value: str | None) -> bool:
    """True when :func:`normalize_tracking_number` accepts ``value``."""
    try:
        normalize_tracking_number(value)
    except InvalidTrackingNumber:
        return False
    return True


def format_tracking_number(digits: str) -> str:
    """``NNNN-NNNN-NNNN``, the way Yamato prints and shows a normalised number."""
    if len(digits) != LENGTH or not (digits.isascii() and digits.isdigit()):
        raise ValueError("format_tracking_number() needs a normalised 12-digit number")
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:]}"


def _shown(text: str) -> str:
    """``text`` as quoted in a message: cut, so a pasted megabyte never reaches a page."""
    return text if len(text) <= 24 else text[:24] + "…"


def _digits_of(text: str) -> str:
    if _EXPONENT_FORM.match(text):
        raise InvalidTrackingNumber(
            EXPONENT,
            f"送り状番号が「{_shown(text)}」という指数表記になっています。表計算ソフトで開いて保存した"
            "ファイルでは番号が失われています。B2クラウドから出力したファイルをそのまま使って"
            "ください。")
    out = []
    for ch in text:
        if "0" <= ch <= "9":
            out.append(ch)
        elif ch in _FULLWIDTH_DIGITS:
            out.append(_FULLWIDTH_DIGITS[ch])
        elif ch not in SEPARATORS:
            shown = "改行などの制御文字" if not ch.isprintable() else f"「{ch}」"
            raise InvalidTrackingNumber(
                CHARACTERS,
                f"送り状番号に使えない文字{shown}が含まれています。数字12桁で入力してください"
                "（ハイフンと空白は省けます）。")
    return "".join(out)
