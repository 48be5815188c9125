"""診断 (M26): the installation checks of the settings page plus the figures of
``flask kuroneko stats`` — counts by status, the oldest waiting SMS / review / journal entry,
the last sweep (time, duration, errors) and sync, open 差異 — in Japanese."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, request

from .. import config
from ..payments import stats
from ..models import STATUS_LABELS, PaymentStatus
from . import common, diagnostics

logger = logging.getLogger(__name__)

#: A sweep older than this many sweep intervals means the worker is not running.
STALE_SWEEPS = 3


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/diagnostics", "diagnostics", diagnostics_page)


def age_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}秒"
    if seconds < 3600:
        return f"{seconds // 60}分"
    if seconds < 86400:
        return f"{seconds // 3600}時間{seconds % 3600 // 60}分"
    return f"{seconds // 86400}日{seconds % 86400 // 3600}時間"


def diagnostics_page():
    figures = stats.collect()
    sweep = figures["last_sweep"]
    stale = None
    if sweep is None:
        stale = "スイープ（flask kuroneko worker または sweep）がまだ一度も実行されていません。"
    else:
        finished = datetime.fromisoformat(sweep["finished_at"])
        generated = datetime.fromisoformat(figures["generated_at"])
        age = int((generated - finished).total_seconds())
        if age > STALE_SWEEPS * config.get("SWEEP_INTERVAL"):
            stale = (f"最後のスイープは{age_text(age)}前です。「flask kuroneko worker」が動いているか"
                     "確認してください。")
    labels = {s.value: f"{STATUS_LABELS[s]}（{s.value}）" for s in PaymentStatus}
    return common.render("diagnostics.html", figures=figures, checks=diagnostics.checks(request),
                         status_labels=labels, age_text=age_text, stale=stale)
