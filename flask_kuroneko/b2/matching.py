"""Group the slips of a parsed issued file per order and sort out keys the shop does not know.

Pure: the caller passes a lookup (a mapping, or a callable returning ``None`` for an unknown
key) from お客様管理番号 to whatever it needs later (a payment id, a row…). Each distinct key
is looked up once; ``IssuedFile.keys()`` gives them all for one batched query beforehand.
What to do with an order's slips (Yamato calls, the host's shipment) is the job layer's.

B2 exports every issued slip selected on its screen, including slips typed in by hand or
created from other channels: their keys are "unknown", reported and never acted on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Generic, Mapping, TypeVar, Union

from .issued import IssuedFile, IssuedRow, RowKind

logger = logging.getLogger(__name__)

T = TypeVar("T")
Lookup = Union[Mapping[str, T], Callable[[str], Union[T, None]]]


@dataclass(frozen=True)
class OrderSlips(Generic[T]):
    """The slips of one known お客様管理番号, in file order, each once."""
    key: str
    target: T                       # what the lookup returned
    tracking_nos: tuple[str, ...]
    lines: tuple[int, ...]          # the rows they came from


@dataclass(frozen=True)
class UnknownKey:
    key: str
    tracking_nos: tuple[str, ...]
    lines: tuple[int, ...]

    @property
    def message(self) -> str:
        rows = "・".join(str(n) for n in self.lines[:10]) + ("…" if len(self.lines) > 10 else "")
        return (f"{rows}行目: お客様管理番号「{self.key}」に当たる注文がありません（このショップ"
                "から出力していない送り状か、削除された注文です）。登録しませんでした。")


@dataclass(frozen=True)
class SharedSlip:
    """One 伝票番号 under several keys: possible for 同梱 (Yamato accepts one slip for up to
    three orders) but more often a hand edit in B2 — shown to the merchant, not decided here."""
    tracking_no: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class MatchResult(Generic[T]):
    matched: tuple[OrderSlips[T], ...]
    unknown: tuple[UnknownKey, ...]
    problems: tuple[IssuedRow, ...]     # rows that were not OK (their messages say why)
    shared: tuple[SharedSlip, ...]

    @property
    def slip_count(self) -> int:
        return sum(len(o.tracking_nos) for o in self.matched)


def match(issued: IssuedFile, lookup: Lookup) -> MatchResult:
    """Group ``issued``'s OK rows per key; keys the lookup does not know go to ``unknown``."""
    find = lookup.get if isinstance(lookup, Mapping) else lookup
    slips: dict[str, list[str]] = {}
    lines: dict[str, list[int]] = {}
    keys_of_slip: dict[str, list[str]] = {}
    for row in issued.rows:
        if row.kind is not RowKind.OK:
            continue                   # duplicates included: their pair is already counted
        slips.setdefault(row.key, []).append(row.tracking_no)
        lines.setdefault(row.key, []).append(row.line)
        owners = keys_of_slip.setdefault(row.tracking_no, [])
        if row.key not in owners:
            owners.append(row.key)
    matched: list[OrderSlips] = []
    unknown: list[UnknownKey] = []
    for key, numbers in slips.items():
        target = find(key)
        if target is None:
            unknown.append(UnknownKey(key, tuple(numbers), tuple(lines[key])))
        else:
            matched.append(OrderSlips(key, target, tuple(numbers), tuple(lines[key])))
    shared = tuple(SharedSlip(slip, tuple(keys)) for slip, keys in keys_of_slip.items()
                   if len(keys) > 1)
    logger.info("B2 match: %d orders, %d unknown keys, %d problem rows, %d shared slips",
                len(matched), len(unknown), len(issued.problems), len(shared))
    return MatchResult(tuple(matched), tuple(unknown), issued.problems, shared)
