"""Time-driven and back-office transitions of a stored transaction (spec §6.5, §6.7, §6.8).

Everything here changes a transaction dict in place and records a history line; pushes
are queued on the context and delivered after the store session ends. When the clock-driven
transitions fall due is ``schedule.py``'s business.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..yamato.codes import TransactionStatus as S
from .clock import parse_ymd

logger = logging.getLogger(__name__)

LIVE_STATUSES = frozenset({1, 3, 5, 6, 10, 11, 30})  # count against the buyer's credit limit
DAY = timedelta(days=1)


class TransitionError(ValueError):
    """A back-office action that the transaction's current state does not allow."""


class UnknownTransaction(LookupError):
    """No transaction with that merchant code and orderNo."""


class Context(Protocol):
    """What the rules need from a call's context: a place to queue push notifications
    (delivered after the store session). ``context.Context`` is the implementation; a
    protocol here keeps this module free of imports from the modules that use it."""

    def push(self, tx: dict, data: dict) -> None: ...


def set_status(tx: dict, status: int, at: datetime, event: str, **detail: Any) -> None:
    old = tx["status"]
    tx["status"] = int(status)
    tx["status_changed_at"] = at.isoformat()
    note = {"at": at.isoformat(), "event": event, "from": old, "to": int(status)}
    note.update(detail)
    tx["history"].append(note)
    logger.info("sandbox tx %s/%s: %s (%s -> %s)", tx["merchant"], tx["orderNo"], event, old,
                status)


def note(tx: dict, at: datetime, event: str, **detail: Any) -> None:
    entry = {"at": at.isoformat(), "event": event, "status": tx["status"]}
    entry.update(detail)
    tx["history"].append(entry)


# --------------------------------------------------------------------------- pushes

def sms_push(ctx: Context, tx: dict, *, sns: int, nin: int) -> None:
    ctx.push(tx, {"ycfStrNo": tx["merchant"], "juchuNo": tx["orderNo"],
                  "keitaiNo": tx["billing"]["telNum"], "giftKb": "3", "snsKk": str(sns),
                  "smsNinKk": str(nin), "smsYuuKk": ""})


def validity_push(ctx: Context, tx: dict, *, sns: int, yuu: int) -> None:
    ctx.push(tx, {"ycfStrNo": tx["merchant"], "juchuNo": tx["orderNo"],
                  "keitaiNo": tx["billing"]["telNum"], "giftKb": "4", "snsKk": str(sns),
                  "smsNinKk": "", "smsYuuKk": str(yuu)})


# --------------------------------------------------------------------------- SMS / review

def sms_pending(tx: dict) -> bool:
    sms = tx.get("sms")
    return bool(sms) and sms["state"] == "pending"


def expire_sms(ctx: Context, tx: dict, at: datetime) -> None:
    """pending -> expired: the record is voided (31) and an NG push goes out."""
    if not sms_pending(tx):
        raise TransitionError("この取引はSMS認証待ちではありません。")
    tx["sms"]["state"] = "expired"
    set_status(tx, S.VOIDED, at, "sms_expired")
    sms_push(ctx, tx, sns=3, nin=1)


def lock_sms(ctx: Context, tx: dict, at: datetime) -> None:
    tx["sms"]["state"] = "locked"
    set_status(tx, S.VOIDED, at, "sms_locked", attempts=tx["sms"]["wrong_attempts"])
    sms_push(ctx, tx, sns=3, nin=1)


def under_review(tx: dict) -> bool:
    return tx["status"] == S.UNDER_REVIEW and not tx.get("sms")


def resolve_review(ctx: Context, tx: dict, result: int, at: datetime) -> None:
    """30 -> 1 (result 0) or 32 (result 1/2); sendDiv 4 also pushes the validity result."""
    if not under_review(tx):
        raise TransitionError("この取引は審査中ではありません。")
    if result not in (0, 1, 2):
        raise TransitionError("審査結果は 0, 1, 2 のいずれかです。")
    tx["review_result"] = result
    tx.pop("review_due", None)
    set_status(tx, S.APPROVED if result == 0 else S.NOT_AVAILABLE, at, "review_resolved",
               result=result)
    if tx["sendDiv"] == 4:
        validity_push(ctx, tx, sns=result, yuu=0 if result == 0 else 1)


def flip_ng(ctx: Context, tx: dict, at: datetime) -> None:
    """Late anti-fraud NG of an approved, not yet shipped transaction (PAGES remark)."""
    if tx["status"] != S.APPROVED:
        raise TransitionError("承認済み（未出荷）の取引だけを決済不可にできます。")
    tx["review_result"] = 1
    tx.pop("flip_ng_due", None)
    set_status(tx, S.NOT_AVAILABLE, at, "late_ng")


# --------------------------------------------------------------------------- delivery

def deliver(ctx: Context, tx: dict, at: datetime) -> None:
    if tx["status"] not in (S.SLIP_REGISTERED, S.DELIVERY_INVESTIGATION,
                            S.WARNING_MAIL_SENT) or not tx["slips"]:
        raise TransitionError("送り状番号が登録された取引だけを配達完了にできます。")
    set_status(tx, S.SALES_CONFIRMED, at, "delivered")
    tx["delivered_at"] = at.isoformat()
    if tx["sendDiv"] == 2:  # 同梱: the invoice travelled with the parcel
        invoice(ctx, tx, at)


def investigate(ctx: Context, tx: dict, at: datetime) -> None:
    if tx["status"] != S.SLIP_REGISTERED:
        raise TransitionError("送り状番号登録済みの取引だけを配送要調査にできます。")
    set_status(tx, S.DELIVERY_INVESTIGATION, at, "investigation")


def warn(ctx: Context, tx: dict, warning: int, at: datetime) -> None:
    if warning not in (1, 2, 3):
        raise TransitionError("警報情報区分は 1, 2, 3 のいずれかです。")
    if tx["status"] not in (S.APPROVED, S.SLIP_REGISTERED, S.DELIVERY_INVESTIGATION):
        raise TransitionError("承認済み・送り状番号登録済み・配送要調査の取引だけに警報を出せます。")
    tx["warning_manual"] = warning
    set_status(tx, S.WARNING_MAIL_SENT, at, "warning_mail", warning=warning)
    tx["warning"] = warning


def invoice(ctx: Context, tx: dict, at: datetime) -> None:
    if tx["status"] == S.INVOICE_ISSUED and tx["reissue"]["pending"]:
        tx["reissue"]["pending"] = False
        note(tx, at, "invoice_reissued", count=tx["reissue"]["count"])
        return
    if tx["status"] != S.SALES_CONFIRMED:
        raise TransitionError("売上確定の取引（または再発行依頼中の請求書発行済み取引）だけに請求書を発行できます。")
    set_status(tx, S.INVOICE_ISSUED, at, "invoice_issued")
    tx["invoiced_at"] = at.isoformat()
    tx["reissue"]["pending"] = False


def pay(ctx: Context, tx: dict, at: datetime) -> None:
    if tx["status"] != S.INVOICE_ISSUED:
        raise TransitionError("請求書発行済みの取引だけを入金済みにできます。")
    set_status(tx, S.PAID, at, "paid")
    tx["paid_at"] = at.isoformat()


def late_ng_due(ctx: Context, tx: dict, at: datetime) -> None:
    """The 9989 trigger's delay ran out: late NG if still approved, else the plan lapses."""
    if tx["status"] == S.APPROVED:
        flip_ng(ctx, tx, at)
    else:
        tx.pop("flip_ng_due", None)


# --------------------------------------------------------------------------- warnings

def current_warning(tx: dict, now: datetime) -> int:
    """警報情報区分: manual while in 6; 1 when still unshipped 7 days after shipYmd;
    4 for a 同梱 parcel shipped without downloading the print data; else 0."""
    status = tx["status"]
    if status == S.WARNING_MAIL_SENT:
        return int(tx.get("warning_manual") or 1)
    ship = parse_ymd(tx.get("shipYmd") or "")
    if status == S.APPROVED and ship is not None and now.date() > ship + 7 * DAY:
        return 1
    if tx["sendDiv"] == 2 and status == S.SLIP_REGISTERED and not tx["print_data_downloaded"]:
        return 4
    return 0
