"""Fitting free text into a B2 column: CP932, JIS X 0208, byte limits — and saying what changed.

B2クラウド reads CP932 and supports JIS X 0208 kanji only (spec §2 "Characters"); every limit is
counted in CP932 bytes (full-width = 2). Customer data is Unicode, so fitting it can change
it. The rule here: a change the merchant would notice is reported as a :class:`Change`
(Japanese text, shown with the row and column), never made silently:

* a character CP932 lacks is replaced by a conventional equivalent (𠮷→吉, — → ―, é → e) or,
  when there is none, by the geta mark 〓 (the JIS convention for "character missing");
* a CP932 character outside JIS X 0208 (①, ㈱, 髙, 﨑: NEC/IBM extensions) is kept — it is
  what the customer wrote and it encodes — but flagged, since B2 may refuse or misprint it;
* a cell a spreadsheet would run as a formula gets an apostrophe (csvcells), which B2 prints;
* text over the byte limit is cut at a character boundary.

Invisible changes are not reported: line breaks and tabs become one space (a CSV cell must
not contain them), invisible format characters (zero-width space, BOM, variation selectors)
are dropped, and no-break and other Unicode spaces become an ASCII space.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .. import csvcells

GETA = "〓"

# Kinds of Change (stable names for callers; the detail is for people).
REPLACED = "replaced"                    # another character with the same reading/shape
UNREPRESENTABLE = "unrepresentable"      # no equivalent: replaced by 〓
MACHINE_DEPENDENT = "machine_dependent"  # CP932 extension kept, may fail in B2
FORMULA = "formula"                      # apostrophe added
TRUNCATED = "truncated"                  # cut at the byte limit
DROPPED = "dropped"                      # value left out (e.g. kana that cannot be half-width)

# Characters CP932 lacks that have a conventional JIS X 0208 spelling (names, punctuation).
EQUIVALENTS = {
    "𠮷": "吉", "𡈽": "土", "𣘺": "橋", "𥔎": "碕", "𦚰": "脇", "繫": "繋", "䑓": "臺",
    "—": "―", "‒": "－", "–": "－", "‑": "‐", "·": "・", "¥": "￥", "‾": "￣",
    "«": "≪", "»": "≫", "„": "”", "‚": "’",
}
# CP932 two-byte codes outside JIS X 0208: NEC special characters (row 13), NEC-selected IBM
# extensions, IBM extensions, and the user-defined area.
_MACHINE_DEPENDENT_RANGES = ((0x8740, 0x879E), (0xED40, 0xEEFC), (0xFA40, 0xFC4B),
                             (0xF040, 0xF9FC))
_BREAKS_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_OTHER_SPACES = frozenset("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                          "\u2008\u2009\u200a\u202f\u205f")


@dataclass(frozen=True)
class Change:
    kind: str
    detail: str                 # Japanese, without the row/column (the caller adds them)


def cp932_len(text: str) -> int:
    """Bytes of ``text`` in CP932 (``text`` must be encodable)."""
    return len(text.encode("cp932"))


def is_machine_dependent(ch: str) -> bool:
    """True for a CP932 character outside JIS X 0208 (①, ㈱, 髙 …)."""
    try:
        encoded = ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    if len(encoded) != 2:
        return False
    code = int.from_bytes(encoded, "big")
    return any(lo <= code <= hi for lo, hi in _MACHINE_DEPENDENT_RANGES)


def _encodable(text: str) -> bool:
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def _is_invisible(ch: str) -> bool:
    return (unicodedata.category(ch) == "Cf" or "\ufe00" <= ch <= "\ufe0f"
            or "\U000e0100" <= ch <= "\U000e01ef")


def clean(value: str | None) -> str:
    """Invisible normalisation only: breaks → one space, format characters dropped, stripped."""
    if not value:
        return ""
    text = _BREAKS_RE.sub(" ", value)
    if not text.isascii():
        text = "".join(" " if ch in _OTHER_SPACES else ch
                       for ch in text if not _is_invisible(ch))
    return text.strip()


def substitute(ch: str) -> str:
    """The JIS X 0208 spelling of a character CP932 lacks, or :data:`GETA`."""
    if ch in EQUIVALENTS:
        return EQUIVALENTS[ch]
    for form in ("NFKC", "NFKD"):
        candidate = "".join(c for c in unicodedata.normalize(form, ch)
                            if not unicodedata.combining(c))
        if candidate and candidate != ch and _encodable(candidate):
            return candidate
    return GETA


def canonical(text: str) -> str:
    """``text`` as B2 (and a spreadsheet) will read it back: several Unicode characters share
    one CP932 code (− U+2212 and － U+FF0D, 〜 and ～), so checks that look at characters —
    formula starts, above all — must look at the decoded form."""
    return text.encode("cp932").decode("cp932")


def to_cp932(text: str) -> tuple[str, list[Change]]:
    """``text`` made encodable and canonical, with the visible changes (module docstring)."""
    if text.isascii():
        return text, []
    if _encodable(text) and not any(map(is_machine_dependent, text)):
        return canonical(text), []
    out: list[str] = []
    replaced: list[str] = []
    missing: list[str] = []
    extension: list[str] = []
    for ch in text:
        if _encodable(ch):
            if is_machine_dependent(ch) and ch not in extension:
                extension.append(ch)
            out.append(ch)
            continue
        sub = substitute(ch)
        out.append(sub)
        if sub == GETA:
            if ch not in missing:
                missing.append(ch)
        elif f"「{ch}」を「{sub}」" not in replaced:
            replaced.append(f"「{ch}」を「{sub}」")
    changes = []
    if replaced:
        changes.append(Change(REPLACED, "、".join(replaced) + "に置き換えました。"))
    if missing:
        chars = "".join(f"「{c}」" for c in missing)
        changes.append(Change(UNREPRESENTABLE,
                              f"{chars}はShift_JIS（CP932）にない文字のため「{GETA}」に置き換え"
                              "ました。B2クラウドで正しい文字に直してください。"))
    if extension:
        chars = "".join(f"「{c}」" for c in extension)
        changes.append(Change(MACHINE_DEPENDENT,
                              f"{chars}は機種依存文字（JIS X 0208の外）です。B2クラウドで"
                              "エラーになるか正しく印字されない場合があります。"))
    return canonical("".join(out)), changes


def truncate_bytes(text: str, limit: int) -> tuple[str, str]:
    """(the longest prefix of ``text`` within ``limit`` CP932 bytes, the rest)."""
    used = 0
    for i, ch in enumerate(text):
        used += 1 if ord(ch) < 0x80 or "\uff61" <= ch <= "\uff9f" else len(ch.encode("cp932"))
        if used > limit:
            return text[:i], text[i:]
    return text, ""


def fit(value: str | None, limit: int, *, neutralize: bool = True) -> tuple[str, list[Change]]:
    """Clean, make encodable, neutralise formulas, cut to ``limit`` bytes — with the changes."""
    text = clean(value)
    # Every character takes at least one byte, so nothing past limit + 1 characters can stay:
    # cutting first keeps a pasted megabyte cheap (and its tail out of the warnings).
    beyond = max(0, len(text) - (limit + 1))
    text, changes = to_cp932(text[:limit + 1] if beyond else text)
    if neutralize and csvcells.is_formula_like(text):
        text = csvcells.neutralize(text)
        changes.append(Change(FORMULA, "表計算ソフトで数式として実行されないよう、先頭に「'」を"
                                       "付けました（B2クラウドではそのまま印字されます）。"))
    kept, cut = truncate_bytes(text, limit)
    if cut:
        changes.append(Change(TRUNCATED, f"{limit}バイト（全角{limit // 2}文字）を超えるため、"
                                         f"末尾の{len(cut) + beyond}文字を切り捨てました。"))
    return kept, changes


# --------------------------------------------------------------------------- half-width kana

def _half_kana_table() -> dict[str, str]:
    table: dict[str, str] = {}
    singles = [chr(c) for c in range(0xFF66, 0xFF9E)]     # ｦ … ﾝ
    for half in singles:
        table.setdefault(unicodedata.normalize("NFKC", half), half)
    for half in singles:
        for mark in ("\uff9e", "\uff9f"):                  # ﾞ ﾟ
            full = unicodedata.normalize("NFKC", half + mark)
            if len(full) == 1:
                table.setdefault(full, half + mark)
    table.update({"ー": "ｰ", "・": "･", "「": "｢", "」": "｣", "、": "､", "。": "｡",
                  "゛": "ﾞ", "゜": "ﾟ", "\u3000": " "})
    return table


_HALF_KANA = _half_kana_table()


def to_halfwidth_kana(value: str | None, limit: int) -> tuple[str, list[Change]]:
    """カナ columns take half-width katakana: hiragana and full-width katakana are converted;
    a value with anything else (kanji) is left out with a Change — these columns are optional."""
    text = clean(value)[:4 * limit]         # NFKC may merge ｶﾞ into one; 4x is ample
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", text):
        if "\u3041" <= ch <= "\u3096":                      # hiragana → katakana
            ch = chr(ord(ch) + 0x60)
        if ch in _HALF_KANA:
            out.append(_HALF_KANA[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            return "", [Change(DROPPED, "半角カタカナにできない文字があるため空欄にしました。")]
    result = "".join(out)
    changes: list[Change] = []
    if csvcells.is_formula_like(result):
        result = csvcells.neutralize(result)
        changes.append(Change(FORMULA, "表計算ソフトで数式として実行されないよう、先頭に「'」を"
                                       "付けました。"))
    kept, cut = truncate_bytes(result, limit)
    if cut:
        changes.append(Change(TRUNCATED, f"{limit}バイトを超えるため、末尾の{len(cut)}文字を"
                                         "切り捨てました。"))
    return kept, changes
