"""The 後払い fee charged to the customer (M7): pure functions, no Flask, no DB.

「固定額」: one amount for every order (blank = no fee). 「変動額」: tiers by order amount, stored
as ``[[up_to, fee], ...]`` in ascending ``up_to``; the first tier whose ``up_to`` is at least the
amount applies; ``up_to`` may be ``None`` on the last tier ("and above"). Above the last closed
tier the last tier's fee applies, so every amount has exactly one fee. The amount is the order
total WITHOUT the fee, so the fee is computed once and never depends on itself.
"""
from __future__ import annotations

import logging
import re

from typing import Iterable, Sequence

from .errors import FeeConfigError

logger = logging.getLogger(__name__)

FIXED = "fixed"
TIERED = "tiered"
MODES = (FIXED, TIERED)
MAX_FEE = 99_999


def fee_for_amount(amount: int, *, mode: str, fixed: int | None,
                   tiers: Sequence[Sequence[int | None]] | None) -> int:
    """The fee (yen) for an order of ``amount`` yen (fee excluded)."""
    if mode == FIXED:
        return int(fixed or 0)
    if mode != TIERED:
        raise FeeConfigError(f"手数料の種類「{mode}」は不明です。固定額か変動額を選んでください。")
    checked = normalize_tiers(tiers or [])
    if not checked:
        return 0
    for up_to, fee in checked:
        if up_to is None or amount <= up_to:
            return fee
    return checked[-1][1]


def normalize_tiers(tiers: Iterable[Sequence[int | None]]) -> list[list[int | None]]:
    """Validate tiers and return them as ``[[up_to, fee], ...]`` (JSON-able).

    Raises FeeConfigError naming the row to fix: bounds strictly ascending, only the last may
    be open (None), fees 0..MAX_FEE.
    """
    result: list[list[int | None]] = []
    previous: int | None = None
    rows = list(tiers)
    for index, row in enumerate(rows, start=1):
        if len(row) != 2:
            raise FeeConfigError(f"手数料の{index}行目: 「上限金額」と「手数料」の2つを入力してください。")
        up_to, fee = row
        if up_to is None:
            if index != len(rows):
                raise FeeConfigError(
                    f"手数料の{index}行目: 上限金額を空欄にできるのは最後の行だけです。")
        else:
            up_to = _as_int(up_to, f"手数料の{index}行目の上限金額")
            if up_to < 1:
                raise FeeConfigError(f"手数料の{index}行目: 上限金額は1円以上にしてください。")
            if previous is not None and up_to <= previous:
                raise FeeConfigError(
                    f"手数料の{index}行目: 上限金額は前の行（{previous:,}円）より大きくしてください。")
            previous = up_to
        fee = _as_int(fee, f"手数料の{index}行目の手数料")
        if not 0 <= fee <= MAX_FEE:
            raise FeeConfigError(f"手数料の{index}行目: 手数料は0〜{MAX_FEE:,}円にしてください。")
        result.append([up_to, fee])
    return result


def parse_tiers_text(text: str) -> list[list[int | None]]:
    """Parse the admin form's textarea: one ``上限金額,手数料`` per line (comma, tab or spaces
    between the two; no thousands separators). ``*`` as the upper bound of the last line
    means "and above"."""
    rows: list[list[int | None]] = []
    for line in text.replace("，", ",").replace("、", ",").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,\t ]+", line) if p]
        if len(parts) != 2:
            raise FeeConfigError(f"「{line}」: 1行に「上限金額,手数料」の形で入力してください"
                                 "（金額に桁区切りのカンマは使えません）。")
        bound = parts[0]
        rows.append([None if bound in ("*", "以上") else bound, parts[1]])  # type: ignore[list-item]
    return normalize_tiers(rows)


def format_tiers_text(tiers: Sequence[Sequence[int | None]]) -> str:
    """Inverse of :func:`parse_tiers_text` (for the admin form)."""
    return "\n".join(f"{'*' if up is None else up},{fee}" for up, fee in tiers)


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise FeeConfigError(f"{what}は整数（円）で入力してください。")
    if isinstance(value, int):
        return value
    text = str(value).strip().replace("円", "").replace("¥", "").replace("￥", "")
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    try:
        return int(text)
    except ValueError:
        raise FeeConfigError(f"{what}は整数（円）で入力してください。") from None
