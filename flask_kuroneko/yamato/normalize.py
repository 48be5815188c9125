"""Turn a shop's free-form customer and order data into values Yamato accepts (spec §2.7–2.10, §5).

Why here and not at Yamato: a request Yamato refuses costs a round trip and, at checkout, a
confused customer. Every integration sanitises before sending; we do the same, but we never
change the *meaning* of a value silently. Names and addresses are converted (half-width →
full-width, look-alike characters → permitted ones) or refused with a
``ValidationError(field=<Yamato parameter>, message=<Japanese sentence naming the fix>)``;
only item names, which are informational on the invoice, may be shortened or stripped.

Everything here is pure (no I/O, no clock) so the sandbox-facing property tests can drive it.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from typing import Iterable, Sequence

from . import jptext
from .datatypes import Item
from ..errors import ValidationError

logger = logging.getLogger(__name__)

MAX_NAME = 30
MAX_ADDRESS_PART = 25
MAX_ADDRESS = 2 * MAX_ADDRESS_PART
MAX_NAME_KANA = 40          # error tables say 40, field definition 80: keep the stricter one
MAX_EMAIL = 64
MAX_ITEM_NAME = 30
MAX_ITEM_LINES = 10
MAX_AMOUNT = 999_999
MAX_QUANTITY = 9_999
MAX_SLIP = 12
MAX_REASON_TEXT = 25
MAX_FREE_TEXT_BYTES = 40    # 20 full-width or 40 half-width characters
FOLDED_ITEM_NAME = "その他商品"
FALLBACK_ITEM_NAME = "商品"

FULL_SPACE = "\u3000"
_PERMITTED_HYPHEN = "\u2010"          # ‐ : JIS X 0208 0x815D, unambiguous
_LONG_VOWEL = "ー"
# Characters people type for a hyphen or a minus; ― － − are ambiguous in CP932 and refused.
_HYPHEN_FAMILY = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\ufe63\ufe58")
# The wave-dash family; ～ and 〜 share the ambiguous code 0x8160.
_WAVE_FAMILY = frozenset("~\u301c\uff5e\u223c\u2053")
_WHITESPACE_RE = re.compile(r"\s+")

# Machine-dependent or extension characters with a conventional permitted equivalent.
# (Circled numbers are handled below; everything else falls back to NFKC.)
_EQUIVALENTS = {
    "髙": "高", "﨑": "崎", "德": "徳", "桒": "桑", "栁": "柳", "瀨": "瀬", "黑": "黒",
    "凞": "熙", "'": "’", '"': "”", "＇": "’", "＂": "”", "¥": "￥", "\\": "＼",
    "¦": "｜", "￤": "｜",
}
_CIRCLED = {chr(0x2460 + i): f"({i + 1})" for i in range(20)}    # ① … ⑳ → (1) … (20)

# Half-width symbols that make item names fail at Yamato (EC3/EC4 sanitiser, spec §2.7).
_ITEM_FORBIDDEN_SYMBOLS = frozenset("!\"$%&'()+,.;=?[\\]^_`{|}~¥")

def _is_kana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u30ff" or "\uff66" <= ch <= "\uff9f"


def _fullwidth_char(ch: str, prev: str = "", nxt: str = "") -> str | None:
    """Full-width permitted spelling of one character, or None when there is none."""
    if ch in _HYPHEN_FAMILY:
        # Between kana (or ending a kana word) a dash is a long vowel (ジョ-ジ, コーヒ-);
        # before a digit or elsewhere it is a hyphen (1-2-3, ハイツ-101).
        long_vowel = prev and _is_kana(prev) and (not nxt or _is_kana(nxt) or nxt.isspace())
        return _LONG_VOWEL if long_vowel else _PERMITTED_HYPHEN
    if ch in _WAVE_FAMILY:
        return _LONG_VOWEL
    if ch == " " or ch == FULL_SPACE:
        return FULL_SPACE
    if ch in _EQUIVALENTS:
        ch = _EQUIVALENTS[ch]
    if ch in _CIRCLED:
        return _fullwidth_run(_CIRCLED[ch])
    if "!" <= ch <= "~":
        return chr(ord(ch) + 0xFEE0)
    if jptext.is_permitted_char(ch) and jptext.is_fullwidth(ch):
        return ch
    # Roman numerals, ㈱, ㍻, № …: their compatibility decomposition is made of permitted
    # characters; accented Latin letters lose their accent (José → Ｊｏｓｅ).
    for form in ("NFKC", "NFKD"):
        decomposed = "".join(c for c in unicodedata.normalize(form, ch)
                             if not unicodedata.combining(c))
        if decomposed and decomposed != ch:
            converted = _fullwidth_run(decomposed)
            if converted is not None:
                return converted
    return None


def _fullwidth_run(text: str) -> str | None:
    out = []
    for i, ch in enumerate(text):
        conv = _fullwidth_char(ch, text[i - 1] if i else "", text[i + 1:i + 2])
        if conv is None:
            return None
        out.append(conv)
    return "".join(out)


def _collapse_spaces(text: str) -> str:
    return _WHITESPACE_RE.sub(" ", text.replace(FULL_SPACE, " ")).strip()


def to_fullwidth(value: str, *, field: str, label: str, drop_unmappable: bool = False) -> str:
    """Half-width → full-width, look-alikes → permitted characters, spaces → one full-width space.

    Half-width katakana are composed first (ｶﾞ → ガ). A character with no permitted equivalent
    raises (or is dropped when ``drop_unmappable``, used for item names only).
    """
    text = _collapse_spaces(value)
    # Compose half-width katakana (with their voicing marks) before the per-character pass.
    text = re.sub(r"[\uff61-\uff9f]+", lambda m: unicodedata.normalize("NFKC", m.group()), text)
    out: list[str] = []
    bad: list[str] = []
    for i, ch in enumerate(text):
        conv = _fullwidth_char(ch, text[i - 1] if i else "", text[i + 1:i + 2])
        if conv is None:
            if ch not in bad:
                bad.append(ch)
        else:
            out.append(conv)
    if bad and not drop_unmappable:
        shown = "、".join(f"「{c}」" for c in bad[:5])
        raise ValidationError(field, f"{label}に使用できない文字{shown}が含まれています。"
                                     "別の文字に置き換えてください。")
    result = _WHITESPACE_RE.sub(" ", "".join(out).replace(FULL_SPACE, " ")).strip()
    result = result.replace(" ", FULL_SPACE)
    _assert_permitted(result, field=field, label=label)
    return result


def _assert_permitted(text: str, *, field: str, label: str) -> None:
    """Last line of defence: whatever we produce must pass the same rules as the sandbox."""
    bad = jptext.forbidden_chars(text)
    if bad or not jptext.is_fullwidth(text):
        shown = "、".join(f"「{c}」" for c in (bad or [c for c in text if not jptext.is_fullwidth(c)])[:5])
        raise ValidationError(field, f"{label}に使用できない文字{shown}が含まれています。"
                                     "別の文字に置き換えてください。")


# --------------------------------------------------------------------------- names


def normalize_name(value: str | None, *, field: str = "name", label: str = "氏名") -> str:
    """氏名/送り先名称: full-width, one full-width space between family and given name, ≤30."""
    if value is None or not value.strip():
        raise ValidationError(field, f"{label}を入力してください。")
    name = to_fullwidth(value, field=field, label=label)
    if len(name) > MAX_NAME:
        raise ValidationError(field, f"{label}は{MAX_NAME}文字以内で入力してください。")
    return name


def _build_kana_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for cp in range(0xFF61, 0xFFA0):
        half = chr(cp)
        table.setdefault(unicodedata.normalize("NFKC", half), half)
    for base in "ｳｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎﾜｦ":
        composed = unicodedata.normalize("NFKC", base + "ﾞ")
        if len(composed) == 1:
            table[composed] = base + "ﾞ"
    for base in "ﾊﾋﾌﾍﾎ":
        table[unicodedata.normalize("NFKC", base + "ﾟ")] = base + "ﾟ"
    # Full-width-only katakana: nearest half-width spelling.
    table.update({"ヮ": "ﾜ", "ヵ": "ｶ", "ヶ": "ｹ", "ヰ": "ｲ", "ヱ": "ｴ", "ヷ": "ﾜﾞ", "ヺ": "ｦﾞ"})
    return table


_KANA_TABLE = _build_kana_table()


def normalize_name_kana(value: str | None) -> str | None:
    """氏名カナ: half-width katakana (hiragana and full-width katakana converted), ≤40."""
    if value is None or not value.strip():
        return None
    text = _collapse_spaces(unicodedata.normalize("NFKC", value))
    out = []
    for ch in text:
        if "\u3041" <= ch <= "\u3096":          # hiragana → katakana
            ch = chr(ord(ch) + 0x60)
        if ch in _HYPHEN_FAMILY or ch in _WAVE_FAMILY:
            ch = "ー"
        out.append(_KANA_TABLE.get(ch, ch))
    kana = "".join(out)
    if not jptext.is_halfwidth_kana(kana):
        raise ValidationError("nameKana", "氏名カナはカタカナまたはひらがなで入力してください。")
    if len(kana) > MAX_NAME_KANA:
        raise ValidationError("nameKana", f"氏名カナは半角換算で{MAX_NAME_KANA}文字以内で入力してください。")
    return kana


# --------------------------------------------------------------------------- address


def split_address(value: str | None, *, field1: str = "address1", field2: str = "address2",
                  label: str = "住所") -> tuple[str, str]:
    """One address string → (address1, address2), 25 + 25 full-width characters.

    The prefecture must come first. An address longer than 50 characters is refused: a
    truncated address means an invoice that never arrives.
    """
    if value is None or not value.strip():
        raise ValidationError(field1, f"{label}を入力してください。")
    address = to_fullwidth(value, field=field1, label=label)
    if jptext.prefecture_of(address) is None:
        raise ValidationError(field1, f"{label}は都道府県名から入力してください。")
    if len(address) > MAX_ADDRESS:
        compact = address.replace(FULL_SPACE, "")
        if len(compact) > MAX_ADDRESS:
            raise ValidationError(field1, f"{label}は都道府県を含めて{MAX_ADDRESS}文字以内で"
                                          "入力してください（建物名などを短くしてください）。")
        address = compact
    if not jptext.has_street_number(address):
        raise ValidationError(field1, f"{label}に番地を入力してください。")
    if len(address) <= MAX_ADDRESS_PART:
        return address, ""
    # Prefer splitting at a space (between street and building) when both halves fit.
    for i in range(min(MAX_ADDRESS_PART, len(address) - 1), 0, -1):
        if address[i] == FULL_SPACE and len(address) - i - 1 <= MAX_ADDRESS_PART:
            return address[:i], address[i + 1:]
    first, second = address[:MAX_ADDRESS_PART], address[MAX_ADDRESS_PART:]
    return first.rstrip(FULL_SPACE), second.lstrip(FULL_SPACE)


# --------------------------------------------------------------------------- numbers


def _strip_separators(value: str) -> str:
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text
                   if not (ch.isspace() or ch in _HYPHEN_FAMILY or ch in "ー()（）〒"))


MOBILE_PREFIXES = ("070", "080", "090")
ELEVEN_DIGIT_PREFIXES = ("050", "060", "070", "080", "090")


def normalize_phone(value: str | None, *, field: str = "telNum", label: str = "電話番号",
                    mobile_only: bool = False, required: bool = True) -> str | None:
    """Digits only; 11 digits for 050/060/070/080/090 numbers, 10 otherwise, starting with 0.

    ``mobile_only`` (スマホタイプ): an 11-digit 070/080/090 number that can receive the SMS.
    """
    if value is None or not value.strip():
        if required:
            raise ValidationError(field, f"{label}を入力してください。")
        return None
    digits = _strip_separators(value)
    if digits.startswith("+81"):
        digits = "0" + digits[3:]
    if not jptext.is_ascii_digits(digits):
        raise ValidationError(field, f"{label}は数字とハイフンで入力してください。")
    if mobile_only:
        if not (len(digits) == 11 and digits.startswith(MOBILE_PREFIXES)):
            raise ValidationError(field, f"{label}にはSMSを受信できる携帯電話番号（070・080・090で"
                                         "始まる11桁）を入力してください。")
        return digits
    if not digits.startswith("0"):
        raise ValidationError(field, f"{label}は0から始まる番号を入力してください。")
    expected = 11 if digits.startswith(ELEVEN_DIGIT_PREFIXES) else 10
    if len(digits) != expected:
        raise ValidationError(field, f"{label}は市外局番から{expected}桁で入力してください"
                                     "（携帯電話は11桁、その他は10桁）。")
    return digits


def normalize_post_code(value: str | None, *, field: str = "postCode",
                        label: str = "郵便番号") -> str:
    """7 digits; accepts 〒, full-width digits, spaces and hyphens."""
    if value is None or not value.strip():
        raise ValidationError(field, f"{label}を入力してください。")
    digits = _strip_separators(value)
    if not (jptext.is_ascii_digits(digits) and len(digits) == 7):
        raise ValidationError(field, f"{label}は7桁の数字で入力してください（例: 100-0001）。")
    return digits


def normalize_email(value: str | None) -> str | None:
    """Half-width, ≤64, one local part and a domain around an @."""
    if value is None or not value.strip():
        return None
    email = unicodedata.normalize("NFKC", value).strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or not email.isascii() or any(c.isspace() for c in email):
        raise ValidationError("email", "メールアドレスを正しい形式（例: sample@example.jp）で入力してください。")
    if len(email) > MAX_EMAIL:
        raise ValidationError("email", f"メールアドレスは{MAX_EMAIL}文字以内にしてください。")
    return email


def normalize_sms_code(value: str | None) -> str:
    """ninCode: the 4 digits of the SMS (full-width digits and spaces tolerated)."""
    code = _strip_separators(value or "")
    if not (jptext.is_ascii_digits(code) and len(code) == 4):
        raise ValidationError("ninCode", "SMSで届いた4桁の認証番号を入力してください。")
    return code


# --------------------------------------------------------------------------- identifiers

_ORDER_NO_KAASD = re.compile(r"^[0-9A-Za-z-]{1,20}$")
_ORDER_NO_ENDS = re.compile(r"^[0-9A-Za-z](?:[0-9A-Za-z_-]{0,18}[0-9A-Za-z])?$")


def check_order_no(order_no: str | None, *, alnum_ends: bool = False,
                   allow_underscore: bool = True) -> str:
    """受注番号: 1–20 of [0-9A-Za-z_-]; KAAKK wants alphanumeric ends, KAASD no underscore."""
    ok = isinstance(order_no, str) and bool(jptext.ORDER_NO_RE.match(order_no))
    if ok and alnum_ends:
        ok = bool(_ORDER_NO_ENDS.match(order_no))
    if ok and not allow_underscore:
        ok = bool(_ORDER_NO_KAASD.match(order_no))
    if not ok:
        extra = "（先頭と末尾は英数字）" if alnum_ends else ""
        chars = "半角英数字・ハイフン" + ("・アンダーバー" if allow_underscore else "")
        raise ValidationError("orderNo", f"受注番号は{chars}の20文字以内にしてください{extra}。")
    return order_no


def normalize_slip(value: str | None, *, yamato: bool, field: str = "paymentNo",
                   label: str = "送り状番号") -> str:
    """送り状番号: hyphens and spaces removed, ≤12 alphanumerics; Yamato slips must be 12
    digits passing the seven check (processDiv 0/1)."""
    if value is None or not value.strip():
        raise ValidationError(field, f"{label}を入力してください。")
    slip = _strip_separators(value)
    if not (slip.isascii() and slip.isalnum()) or len(slip) > MAX_SLIP:
        raise ValidationError(field, f"{label}は半角英数字{MAX_SLIP}桁以内で入力してください。")
    if yamato and not jptext.slip_check_digit_ok(slip):
        raise ValidationError(field, f"{label}（ヤマト運輸）は12桁の数字です。"
                                     "番号を確認してください（チェックデジットが一致しません）。")
    return slip


# --------------------------------------------------------------------------- amounts and items


def check_amount(value: object, *, field: str = "totalAmount", label: str = "決済金額総計") -> int:
    """A total between 1 and 999,999 yen."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_AMOUNT:
        raise ValidationError(field, f"{label}は1円以上{MAX_AMOUNT:,}円以下にしてください。")
    return value


def normalize_item_name(value: str | None, *, field: str = "itemName1") -> str:
    """Item names are informational: forbidden symbols become spaces, unmappable characters
    are dropped and the name is cut at 30 characters — harmless, unlike for an address."""
    text = "".join(" " if ch in _ITEM_FORBIDDEN_SYMBOLS else ch for ch in (value or ""))
    name = to_fullwidth(text, field=field, label="購入商品名称", drop_unmappable=True)
    name = name[:MAX_ITEM_NAME].rstrip(FULL_SPACE)
    return name or FALLBACK_ITEM_NAME


def _check_line_value(value: int | None, *, field: str, label: str, low: int, high: int) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(field, f"{label}は{low:,}から{high:,}の整数にしてください。")


def fold_items(items: Sequence[Item], limit: int = MAX_ITEM_LINES) -> list[Item]:
    """At most ``limit`` lines: surplus product lines are merged into one "その他商品" line.

    Product lines (those with a quantity) are folded first so that fee, shipping and discount
    lines stay visible on the invoice; the sum of subtotals is unchanged.
    """
    items = list(items)
    if len(items) <= limit:
        return items
    surplus = len(items) - limit + 1
    products = [i for i, it in enumerate(items) if it.quantity is not None]
    fold_idx = products[-surplus:] if len(products) >= surplus else list(range(len(items)))[-surplus:]
    folded_sum = sum(items[i].subtotal for i in fold_idx)
    out: list[Item] = []
    for i, it in enumerate(items):
        if i == fold_idx[0]:
            out.append(Item(name=FOLDED_ITEM_NAME, subtotal=folded_sum))
        elif i not in fold_idx:
            out.append(it)
    return out


def normalize_items(items: Iterable[Item], *, total: int | None) -> list[Item]:
    """Validate and normalise the item lines; Σ subtotal must equal ``total`` when given."""
    items = list(items or ())
    if not items:
        raise ValidationError("itemName1", "購入商品を1行以上指定してください。")
    for n, it in enumerate(items, 1):
        _check_line_value(it.subtotal, field=f"subTotal{min(n, 10)}", label="購入商品小計",
                          low=-MAX_AMOUNT, high=MAX_AMOUNT)
        _check_line_value(it.unit_price, field=f"unitPrice{min(n, 10)}", label="購入商品単価",
                          low=-MAX_AMOUNT, high=MAX_AMOUNT)
        _check_line_value(it.quantity, field=f"itemCount{min(n, 10)}", label="購入商品数量",
                          low=0, high=MAX_QUANTITY)
    if total is not None and sum(it.subtotal for it in items) != total:
        raise ValidationError("totalAmount", "購入商品の小計の合計と決済金額総計が一致しません。"
                                             "商品・送料・手数料・値引きの金額を確認してください。")
    folded = fold_items(items)
    out = []
    for n, it in enumerate(folded, 1):
        _check_line_value(it.subtotal, field=f"subTotal{n}", label="購入商品小計",
                          low=-MAX_AMOUNT, high=MAX_AMOUNT)
        out.append(Item(name=normalize_item_name(it.name, field=f"itemName{n}"),
                        subtotal=it.subtotal, quantity=it.quantity, unit_price=it.unit_price))
    return out


# --------------------------------------------------------------------------- free text


def normalize_reason_text(value: str | None) -> str:
    """不備事由その他: full-width, ≤25."""
    if value is None or not value.strip():
        raise ValidationError("reasonReissueEtc", "不備事由が「その他」の場合は内容を入力してください。")
    text = to_fullwidth(value, field="reasonReissueEtc", label="不備事由その他")
    if len(text) > MAX_REASON_TEXT:
        raise ValidationError("reasonReissueEtc", f"不備事由その他は{MAX_REASON_TEXT}文字以内で入力してください。")
    return text


_FREE_TEXT_HALF = re.compile(r"^[0-9A-Za-z\-_\uff66-\uff9f ]*$")


def _free_text_char_ok(ch: str) -> bool:
    if ch in "‐＿" or "０" <= ch <= "９" or "Ａ" <= ch <= "Ｚ" or "ａ" <= ch <= "ｚ":
        return True
    name = unicodedata.name(ch, "")
    return (name.startswith(("CJK UNIFIED IDEOGRAPH", "HIRAGANA", "KATAKANA"))
            and jptext.is_permitted_char(ch)) or ch == "ー"


def normalize_free_text(value: str | None, *, field: str = "billPostCode") -> str | None:
    """フリー項目: half-width alnum/kana/-/_ (≤40) or full-width kanji/kana/alnum/‐/＿ (≤20)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _FREE_TEXT_HALF.match(text) and " " not in text:
        if len(text) > MAX_FREE_TEXT_BYTES:
            raise ValidationError(field, "フリー項目は半角40文字以内にしてください。")
        return text
    text = to_fullwidth(text.replace("_", "＿"), field=field, label="フリー項目").replace(FULL_SPACE, "")
    if not all(_free_text_char_ok(ch) for ch in text):
        raise ValidationError(field, "フリー項目には漢字・ひらがな・カタカナ・英数字・‐・＿のみ使用できます。")
    if len(text) * 2 > MAX_FREE_TEXT_BYTES:
        raise ValidationError(field, "フリー項目は全角20文字以内にしてください。")
    return text
