"""What a job looks like to the merchant: progress (the admin's polling endpoint, the CLI's
bar), per-item rows with Japanese labels, and the results CSV."""
from __future__ import annotations

import csv
import io
from datetime import timezone
from typing import Any, Iterable

from ..csvcells import cell
from ..yamato.timezone import JST
from . import store
from .outcomes import (FILTERS, ItemState, JobState, Outcome, kind_label, outcome_label,
                       state_label)

CSV_HEADER = ["行", "お客様管理番号・受注番号", "決済ID", "受注番号", "送り状番号", "結果", "コード",
              "メッセージ", "処理日時"]


def jst(moment: Any) -> str:
    if moment is None:
        return ""
    return moment.replace(tzinfo=timezone.utc).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def progress(job: Any, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """The job's state and counts as plain JSON values."""
    counts = counts if counts is not None else store.counts([job.id]).get(job.id, {})
    total = job.total or 0
    done = counts.get(ItemState.DONE.value, 0)
    percent = 100 if total == 0 else min(100, done * 100 // total)
    by_outcome = {o.value: counts.get(o.value, 0) for o in Outcome if counts.get(o.value)}
    groups = {name: sum(counts.get(o, 0) for o in outcomes)
              for name, (_, outcomes) in FILTERS.items()}
    return {
        "id": job.id, "kind": job.kind, "kind_label": kind_label(job.kind),
        "state": job.state, "state_label": state_label(job.state),
        "total": total, "done": done, "percent": percent,
        "pending": counts.get(ItemState.PENDING.value, 0),
        "running": counts.get(ItemState.RUNNING.value, 0),
        "finished": job.state in (JobState.DONE.value, JobState.CANCELLED.value)
        and done == total,
        "outcomes": by_outcome,
        "outcome_labels": {k: outcome_label(k) for k in by_outcome},
        "groups": groups,
        "failed": groups.get("error", 0),
    }


def item_line(item: Any) -> str:
    lines = (item.params or {}).get("lines") or []
    return "・".join(str(n) for n in lines[:10]) + ("…" if len(lines) > 10 else "")


def item_slips(item: Any) -> str:
    return "・".join((item.params or {}).get("tracking_nos") or [])


def results_csv(job: Any, rows: Iterable[Any]) -> str:
    """Every item as CSV text (cells neutralised: a key may be ``=HYPERLINK(…)``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in rows:
        writer.writerow([cell(v) for v in (
            item_line(item), item.key, item.order_no, item.host_order_id, item_slips(item),
            outcome_label(item.outcome) or ("実行中" if item.state == ItemState.RUNNING.value
                                            else "未実行"),
            item.code, item.message, jst(item.finished_at))])
    return out.getvalue()
