"""Character rules of Yamato's API (spec §2.7, §6.4) as pure predicates.

Shared by the client (to validate after normalising, before any HTTP call) and the sandbox
(to reject exactly what the real service would). No conversion happens here; see
``normalize.py`` for that.
"""
from __future__ import annotations

import functools

import re

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)

# Shift_JIS code ranges that are machine-dependent (NEC specials, NEC-selected IBM
# extensions, IBM extensions, user-defined area): outside JIS X 0208.
_FORBIDDEN_RANGES = (
    (0x8740, 0x879E),
    (0xED40, 0xEEFC),
    (0xFA40, 0xFC4B),
    (0xF040, 0xF9FC),
)
# Shift_JIS codes whose Unicode mapping differs between converters (― ～ ∥ － ￠ ￡ ￢).
# Checked on the encoded code, so both U+301C and U+FF5E (wave dash, 0x8160) are caught.
_AMBIGUOUS_CODES = frozenset({0x815C, 0x8160, 0x8161, 0x817C, 0x8191, 0x8192, 0x81CA})

_STREET_NUMBER = re.compile(r"[0-9０-９〇一二三四五六七八九十百千番]")


@functools.lru_cache(maxsize=8192)
def _cp932(ch: str) -> bytes | None:
    try:
        return ch.encode("cp932")
    except UnicodeEncodeError:
        return None


@functools.lru_cache(maxsize=8192)      # a pure function of one character, called per char
def is_permitted_char(ch: str) -> bool:
    """True when ``ch`` is inside the permitted set ("JIS X 0208 within CP932")."""
    encoded = _cp932(ch)
    if encoded is None:
        return False
    if len(encoded) == 2:
        code = int.from_bytes(encoded, "big")
        return code not in _AMBIGUOUS_CODES and not any(
            lo <= code <= hi for lo, hi in _FORBIDDEN_RANGES)
    return True


def forbidden_chars(text: str) -> list[str]:
    """The distinct characters of ``text`` outside the permitted set, in order of appearance."""
    seen: list[str] = []
    for ch in text:
        if not is_permitted_char(ch) and ch not in seen:
            seen.append(ch)
    return seen


def is_fullwidth(text: str) -> bool:
    """全角: every character is two bytes in CP932 (the full-width space included)."""
    return all((enc := _cp932(ch)) is not None and len(enc) == 2 for ch in text)


def is_halfwidth_kana(text: str) -> bool:
    """半角カナ for nameKana: U+FF61–U+FF9F or printable ASCII (space included)."""
    return all("\uff61" <= ch <= "\uff9f" or " " <= ch <= "~" for ch in text)


def prefecture_of(address: str) -> str | None:
    """The prefecture ``address`` starts with, or None."""
    for pref in PREFECTURES:
        if address.startswith(pref):
            return pref
    return None


def has_street_number(address: str) -> bool:
    """番地 check: a digit, a kanji numeral or 番 appears somewhere."""
    return bool(_STREET_NUMBER.search(address))


def is_ascii_alnum(text: str) -> bool:
    return text.isascii() and text.isalnum()


def is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


ORDER_NO_RE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")
SLIP_CHARS_RE = re.compile(r"^[0-9A-Za-z-]{1,12}$")


def slip_check_digit_ok(slip: str) -> bool:
    """Yamato's "seven check": 12 digits, first 11 as a number mod 7 == the 12th digit."""
    digits = slip.replace("-", "")
    return len(digits) == 12 and digits.isdigit() and int(digits[:11]) % 7 == int(digits[11])
