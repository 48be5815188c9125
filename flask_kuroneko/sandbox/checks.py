"""Single-field checks of the validation engine (spec §2.7, §2.8, §6.4).

Each function looks at one value and returns the names of the rules it breaks
("missing", "digits", "length", ...). The per-API tables in ``rules.py`` turn rule names
into that API's error codes; the engine then reports the lowest code. Keeping the rule
logic here once means KAARA, KAAKK and KAARR judge an address identically.
"""
from __future__ import annotations

import logging
import re
from typing import Callable

from ..yamato import jptext
from .clock import parse_stamp, parse_ymd

logger = logging.getLogger(__name__)

_MOBILE_PREFIXES = ("050", "060", "070", "080", "090")
_SMS_PREFIXES = ("070", "080", "090")
_SIGNED_RE = re.compile(r"^-?[0-9]+$")
_HALF_FREE_RE = re.compile(r"^[0-9A-Za-z_\-\uff61-\uff9f]$")
_FULL_FREE_EXTRA = set("‐＿ー－")


def merchant_code(value: str) -> list[str]:
    if not value:
        return ["missing"]
    fails = []
    if len(value) != 11:
        fails.append("length")
    if not jptext.is_ascii_digits(value):
        fails.append("digits")
    return fails


def order_no(value: str, *, underscore: bool = True, alnum_ends: bool = False) -> list[str]:
    if not value:
        return ["missing"]
    fails = []
    if not value.isascii():
        fails.append("halfwidth")
    allowed = r"[0-9A-Za-z_-]" if underscore else r"[0-9A-Za-z-]"
    if not re.fullmatch(allowed + "+", value):
        fails.append("charset")
    if len(value) > 20:
        fails.append("length")
    if alnum_ends and not (jptext.is_ascii_alnum(value[0]) and jptext.is_ascii_alnum(value[-1])):
        fails.append("ends")
    return fails


def date8(value: str, *, required: bool = True) -> list[str]:
    if not value:
        return ["missing"] if required else []
    if not jptext.is_ascii_digits(value):
        return ["digits"]
    if len(value) != 8:
        return ["length"]
    return [] if parse_ymd(value) else ["valid"]


def datetime14(value: str) -> list[str]:
    if not value:
        return ["missing"]
    if not jptext.is_ascii_digits(value):
        return ["digits"]
    if len(value) != 14:
        return ["length"]
    return [] if parse_stamp(value) else ["valid"]


def text(value: str, max_len: int, *, required: bool = False,
         prefecture: bool = False) -> list[str]:
    """A 全角 text field (name, address, item name)."""
    if not value:
        return ["missing"] if required else []
    fails = []
    if not jptext.is_fullwidth(value):
        fails.append("fullwidth")
    if len(value) > max_len:
        fails.append("length")
    if jptext.forbidden_chars(value):
        fails.append("charset")
    if prefecture and jptext.prefecture_of(value) is None:
        fails.append("prefecture")
    return fails


def name_kana(value: str, max_len: int) -> list[str]:
    if not value:
        return []
    fails = []
    if not jptext.is_halfwidth_kana(value):
        fails.append("kana")
    if len(value) > max_len:
        fails.append("length")
    return fails


def postcode(value: str, exists: Callable[[str], bool], *,
             required: bool = True) -> list[str]:
    if not value:
        return ["missing"] if required else []
    if not re.fullmatch(r"[0-9-]+", value):
        return ["chars"]
    fails = []
    if value.count("-") > 1:
        fails.append("hyphens")
    digits = value.replace("-", "")
    if len(digits) != 7:
        fails.append("digits7")
    elif value.count("-") == 1 and not re.fullmatch(r"[0-9]{3}-[0-9]{4}", value):
        fails.append("format")
    if not fails and not exists(digits):
        fails.append("exists")
    return fails


def phone(value: str, *, required: bool = True, two_hyphens: bool = False,
          sms: bool = False) -> list[str]:
    """Phone digit count: 050/060/070/080/090 need 11 digits, other 0… numbers 10."""
    if not value:
        return ["missing"] if required else []
    if not re.fullmatch(r"[0-9-]+", value):
        return ["chars"]
    fails = []
    hyphens = value.count("-")
    if two_hyphens and hyphens not in (0, 2):
        fails.append("hyphens")
    digits = value.replace("-", "")
    if not digits.startswith("0"):
        fails.append("zero")
    if sms:
        if not (len(digits) == 11 and digits.startswith(_SMS_PREFIXES)):
            fails.append("count")
    else:
        expected = 11 if digits.startswith(_MOBILE_PREFIXES) else 10
        if len(digits) != expected:
            fails.append("count")
    return fails


def email(value: str) -> list[str]:
    if not value:
        return []
    fails = []
    if not (value.isascii() and value.isprintable() and " " not in value):
        fails.append("halfwidth")
    if len(value) > 64:
        fails.append("length")
    local, at, domain = value.partition("@")
    if not (at and local and domain):
        fails.append("at")
    return fails


def password(value: str, *, max_len: int | None = None) -> list[str]:
    if not value:
        return ["missing"]
    fails = []
    if not jptext.is_ascii_alnum(value):
        fails.append("alnum")
    if max_len is not None and len(value) > max_len:
        fails.append("length")
    return fails


def amount(value: str, *, required: bool = True) -> list[str]:
    """totalAmount: half-width digits, at most 6 of them, 1–999,999."""
    if not value:
        return ["missing"] if required else []
    if not jptext.is_ascii_digits(value):
        return ["digits"]
    if len(value) > 6:
        return ["length"]
    return [] if int(value) >= 1 else ["range"]


def unsigned(value: str, max_digits: int) -> list[str]:
    """itemCount: half-width digits, at most ``max_digits``."""
    if not value:
        return []
    if not jptext.is_ascii_digits(value):
        return ["digits"]
    return ["length"] if len(value) > max_digits else []


def signed(value: str) -> list[str]:
    """unitPrice/subTotal: 0…999,999 or −999,999…−1 with a leading minus."""
    if not value:
        return []
    if not re.fullmatch(r"[0-9-]+", value):
        return ["chars"]
    if not _SIGNED_RE.match(value):
        return ["minus_first"]
    if value.startswith("-"):
        return ["neg_length"] if len(value) > 7 or int(value) == 0 else []
    return ["pos_length"] if len(value) > 6 else []


def free_item(value: str) -> list[str]:
    """billPostCode (フリー項目): kanji/kana/alnum/‐/＿ full-width or alnum/kana/-/_ half-width;
    at most 20 full-width or 40 half-width (a full-width character counts as two)."""
    if not value:
        return []
    fails = []
    if jptext.forbidden_chars(value):
        fails.append("charset")
    width = 0
    for ch in value:
        if _HALF_FREE_RE.match(ch):
            width += 1
            continue
        width += 2
        if not _is_full_free(ch):
            fails.append("classes")
            break
    if width > 40:
        fails.append("length")
    return fails


def _is_full_free(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or ch == "々" or 0x3041 <= code <= 0x3096
            or 0x30A1 <= code <= 0x30FA or ch in _FULL_FREE_EXTRA
            or "０" <= ch <= "９" or "Ａ" <= ch <= "Ｚ" or "ａ" <= ch <= "ｚ")


def slip(value: str, *, check_digit: bool) -> list[str]:
    """送り状番号: ≤12 of [0-9A-Za-z-]; Yamato slips also pass the seven check and are
    not "0000…" (the simulator's "not usable for 後払い" range)."""
    if not value:
        return ["missing"]
    fails = []
    if len(value) > 12:
        fails.append("length")
    if not re.fullmatch(r"[0-9A-Za-z-]+", value):
        fails.append("chars")
    if check_digit and not fails:
        if not jptext.slip_check_digit_ok(value):
            fails.append("check_digit")
        elif value.replace("-", "").startswith("0000"):
            fails.append("unusable")
    return fails
