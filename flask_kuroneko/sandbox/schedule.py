"""When each clock-driven change of a transaction falls due (spec §6.5, §6.7, §6.8).

Every rule that used to be evaluated by scanning all transactions on every call is stated
here as "the next change of this transaction, and when": SMS expiry, review decisions, the
9989 late NG and the ``auto_advance`` steps. The stores index the two due times of each
transaction (``due_times``) so that a call finds what fell due with one indexed query, and
``Context.apply_due`` applies them in due-time order. Each change is dated at its due time,
so one big clock jump walks whole chains exactly as many small steps would.

Auto-advance steps have their own due time because whether they happen depends on the
merchant's ``auto_advance`` setting (which may change), not on the transaction alone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ..yamato.codes import TransactionStatus as S
from . import lifecycle
from .clock import micros, parse_iso

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
Apply = Callable[[lifecycle.Context, dict], None]


@dataclass(frozen=True)
class Change:
    """One pending clock-driven change of a transaction."""
    fire: int          # µs since the epoch; the change applies once now (in µs) >= fire
    at: datetime       # the moment it is dated at (history, pushes)
    auto: bool         # an auto_advance step: only for merchants with auto_advance on
    apply: Apply


def _sms_expiry(tx: dict) -> Change | None:
    if not lifecycle.sms_pending(tx):
        return None
    at = parse_iso(tx["sms"]["expires_at"])
    # Expiry is "now > expires_at" (the code is still good at expires_at itself).
    return Change(micros(at) + 1, at, False,
                  lambda ctx, t: lifecycle.expire_sms(ctx, t, at))


def _review(tx: dict) -> Change | None:
    due = tx.get("review_due")
    if not due or not lifecycle.under_review(tx):
        return None
    at = parse_iso(due)
    return Change(micros(at), at, False,
                  lambda ctx, t: lifecycle.resolve_review(ctx, t, t["review_final"], at))


def _late_ng(tx: dict) -> Change | None:
    due = tx.get("flip_ng_due")
    if not due:
        return None
    at = parse_iso(due)
    return Change(micros(at), at, False, lambda ctx, t: lifecycle.late_ng_due(ctx, t, at))


def _auto_step(tx: dict) -> Change | None:
    """Yamato slip: 10 after 2 days, 11 one day later (at once for 同梱), 12 after 7 more;
    other-carrier slips: 10 after 3 days."""
    status = tx["status"]
    if status == S.SLIP_REGISTERED and tx.get("shipped_at"):
        yamato = any(s["processDiv"] in (0, 1) for s in tx["slips"])
        at = parse_iso(tx["shipped_at"]) + (2 * DAY if yamato else 3 * DAY)
        step = lifecycle.deliver
    elif status == S.SALES_CONFIRMED and tx.get("delivered_at"):
        at = parse_iso(tx["delivered_at"]) + DAY
        step = lifecycle.invoice
    elif status == S.INVOICE_ISSUED and tx.get("invoiced_at"):
        at = parse_iso(tx["invoiced_at"]) + 7 * DAY
        step = lifecycle.pay
    else:
        return None
    return Change(micros(at), at, True, lambda ctx, t: step(ctx, t, at))


RULES = (_sms_expiry, _review, _late_ng)


def next_change(tx: dict, *, auto_advance: bool) -> Change | None:
    """The earliest pending change of ``tx`` (ties: the rules' order), or None."""
    changes = [change for rule in RULES if (change := rule(tx)) is not None]
    if auto_advance and (step := _auto_step(tx)) is not None:
        changes.append(step)
    return min(changes, key=lambda change: change.fire, default=None)


def due_times(tx: dict) -> tuple[int | None, int | None]:
    """(earliest non-auto change, next auto_advance step) in µs; what the stores index."""
    plain = next_change(tx, auto_advance=False)
    step = _auto_step(tx)
    return (plain.fire if plain else None), (step.fire if step else None)
