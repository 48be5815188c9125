"""The human page of the sandbox (``GET /`` and ``/_sim/ui``): transactions, back-office
buttons and the SMS outbox, so a demo user can play Yamato and read "their" SMS code.

Every URL is built with ``url_for`` so the page works under a prefix (DispatcherMiddleware).
It shows buyers' data and SMS codes: ``guard.py`` serves it to loopback clients only (unless
opened by configuration) and refuses cross-site POSTs, so another web page cannot press its
buttons. The sandbox must still never face the internet.
"""
from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for

from ..yamato.codes import CreditDecision, TransactionStatus, WarningCode
from . import current, guard
from .backoffice import ACTIONS
from .lifecycle import TransitionError, UnknownTransaction

logger = logging.getLogger(__name__)

ui = Blueprint("sandbox_ui", __name__)
ui.before_request(guard.refuse_unless_allowed)

ACTION_LABELS = {
    "deliver": "配達完了", "investigate": "配送要調査", "warn": "警報メール",
    "invoice": "請求書発行", "pay": "入金", "resolve-review": "審査結果",
    "flip-ng": "決済不可にする", "expire-sms": "SMS期限切れ",
}
CLOCK_STEPS = (("＋1時間", 3600), ("＋1日", 86400), ("＋7日", 7 * 86400))
PAGE_ROWS = 200   # newest transactions and SMS shown; the page must not grow with the store


def mask_phone(tel: str) -> str:
    """All digits but the last four hidden: the page may be shown on a projector."""
    digits = tel.replace("-", "")
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def _label(enum, value) -> str:
    try:
        return enum(int(value)).label
    except (TypeError, ValueError):
        return "—"


def available_actions(tx: dict) -> list[str]:
    status, sms = tx["status"], tx.get("sms")
    actions = []
    if status in (3, 5, 6) and tx["slips"]:
        actions.append("deliver")
    if status == 3:
        actions.append("investigate")
    if status in (1, 3, 5):
        actions.append("warn")
    if status == 10 or (status == 11 and tx["reissue"]["pending"]):
        actions.append("invoice")
    if status == 11:
        actions.append("pay")
    if status == 30 and not sms:
        actions.append("resolve-review")
    if status == 1:
        actions.append("flip-ng")
    if sms and sms["state"] == "pending":
        actions.append("expire-sms")
    return actions


@ui.get("/")
@ui.get("/_sim/ui")
def index():
    sim = current.simulator()
    rows = []
    for tx in sim.recent_transactions(PAGE_ROWS):
        rows.append({
            "tx": tx,
            "status_label": _label(TransactionStatus, tx["status"]),
            "review_label": _label(CreditDecision, tx["review_result"]),
            "warning_label": _label(WarningCode, tx["warning"]) if tx["warning"] else "",
            "actions": available_actions(tx),
        })
    outbox = [dict(message, masked=mask_phone(message["telNum"]))
              for message in reversed(sim.recent_sms(PAGE_ROWS))]
    return render_template("sandbox/index.html", rows=rows, outbox=outbox, now=sim.now(),
                           page_rows=PAGE_ROWS,
                           labels=ACTION_LABELS, clock_steps=CLOCK_STEPS,
                           message=request.args.get("msg", ""),
                           refresh=request.args.get("refresh", type=int))


@ui.post("/_sim/ui/tx/<merchant>/<order_no>/<action>")
def action(merchant: str, order_no: str, action: str):
    if action not in ACTIONS:
        return redirect(url_for(".index", msg="不明な操作です。"))
    try:
        ACTIONS[action](current.simulator(), merchant, order_no, request.form.to_dict())
        msg = f"{order_no}: {ACTION_LABELS[action]}を実行しました。"
    except (TransitionError, UnknownTransaction) as exc:
        msg = f"{order_no}: {exc}"
    return redirect(url_for(".index", msg=msg))


@ui.post("/_sim/ui/clock")
def clock():
    seconds = request.form.get("seconds", type=int) or 0
    if seconds > 0:
        current.simulator().advance(seconds)
    else:
        current.simulator().tick()
    return redirect(url_for(".index", msg="時計を進めました。"))


@ui.post("/_sim/ui/reset")
def reset():
    current.simulator().reset()
    return redirect(url_for(".index", msg="すべての取引を削除しました。"))
