"""「B2出荷データ出力」 (M17): choose 与信 orders with Yamato delivery, see what the file will
hold (warnings for every changed value, orders left out with the reasons), download it.

Three steps: the list (filters: 受注日, 未出力のみ; ticked orders or 「絞り込んだ注文をすべて」),
the preview (``jobs.b2_export.build``: nothing is written), the download (built again from the
same orders, recorded as a ``b2_export`` job: the list then shows 出力済み and when). Incomplete
B2 settings (ご依頼主, ご請求先) are listed with a link to 「B2クラウド設定」; no file is made.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, request

from ..b2 import SettingsInvalid, settings_problems
from ..jobs import b2_export, store
from ..web.inputs import parse_id
from . import common
from .job_forms import B2ExportForm

logger = logging.getLogger(__name__)

PAGE_SIZE = 100


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/b2/export", "b2_export", list_page)
    bp.add_url_rule("/b2/export/preview", "b2_export_preview", preview, methods=["POST"])
    bp.add_url_rule("/b2/export/download", "b2_export_download", download, methods=["POST"])


def parse_day(value: str | None) -> date | None:
    text = (value or "").strip()
    if not text or len(text) > 10 or not text.isascii():
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None


def filters(values: Any) -> dict[str, Any]:
    return {"since": parse_day(values.get("since")), "until": parse_day(values.get("until")),
            "unexported": values.get("unexported") == "1"}


def filtered_payments(f: dict[str, Any]) -> list[Any]:
    payments = b2_export.authorized_payments(since=f["since"], until=f["until"])
    if f["unexported"]:
        exported = store.last_exports(p.id for p in payments)
        payments = [p for p in payments if p.id not in exported]
    return payments


def settings_trouble() -> list[Any]:
    return settings_problems(b2_export.export_settings(common.state().settings()))


def list_page():
    f = filters(request.args)
    payments = filtered_payments(f)
    page = common.int_arg(request.args.get("page"))
    shown = payments[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    settings = common.state().settings()
    rows = [b2_export.candidate(p, settings) for p in shown]
    return common.render(
        "b2_export.html", rows=rows, total=len(payments), page=page,
        pages=max(1, -(-len(payments) // PAGE_SIZE)), f=f, form=B2ExportForm(),
        exported=store.last_exports(p.id for p in shown), problems=settings_trouble(),
        max_orders=b2_export.MAX_ORDERS)


def selected_ids(values: Any) -> list[int]:
    """Ticked payment ids (strict: ``web.inputs.parse_id``), at most MAX_ORDERS, repeats
    dropped; anything else is ignored."""
    ids = (parse_id(raw) for raw in values.getlist("payment_id")[:b2_export.MAX_ORDERS])
    return list(dict.fromkeys(i for i in ids if i is not None))


def chosen_payments(form: Any) -> list[Any]:
    if form.get("scope") == "all":
        return filtered_payments(filters(form))
    ids = selected_ids(form)
    return b2_export.authorized_payments(ids=ids) if ids else []


def posted_export() -> tuple[Any, Any]:
    """The export the posted form asks for: (outcome, None), or (None, the response that
    explains why no file can be made: CSRF refused, nothing chosen, B2 settings incomplete)."""
    if not B2ExportForm(request.form).validate():
        return None, common.csrf_refused()
    payments = chosen_payments(request.form)
    if not payments:
        common.error("出力する注文を選んでください（「与信」の注文のみ出力できます）。")
        return None, list_page()
    try:
        return b2_export.build(payments), None
    except SettingsInvalid as exc:
        common.error("B2クラウド設定に不備があるため出力できません：" + " ".join(p.message for p in exc.problems))
        return None, list_page()


def preview():
    outcome, refusal = posted_export()
    if refusal is not None:
        return refusal
    return common.render("b2_export_preview.html", outcome=outcome, result=outcome.result,
                         form=B2ExportForm())


def download():
    outcome, refusal = posted_export()
    if refusal is not None:
        return refusal
    result = outcome.result
    if result is None or not result.row_count:
        common.error("出力できる注文がありません（理由は一覧のとおりです）。")
        return common.render("b2_export_preview.html", status=400, outcome=outcome,
                             result=result, form=B2ExportForm())
    filename = b2_export.filename_for()
    job = b2_export.record(outcome, actor=common.ACTOR, filename=filename)
    logger.info("admin B2 export: %d rows (job %s)", result.row_count, job.id)
    return Response(result.data, content_type="text/csv; charset=Shift_JIS",
                    headers={"Content-Disposition": f"attachment; filename={filename}",
                             "X-Kuroneko-Job": str(job.id)})
