"""Jobs (bulk work): the list with progress bars, one job's page (progress, counts, per-item
results with filters, 「失敗分を再実行」, 「中止」), the JSON the pages poll while a job runs,
and the results CSV.

Pages only read; the two buttons are CSRF-protected POSTs. The progress bars are ``<progress>``
elements a small script moves by polling ``/jobs/<id>/progress`` (one query per poll).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, request, url_for

from .. import jobs
from ..jobs import store
from ..jobs.outcomes import (ACTIVE_STATES, FILTERS, JobKind, Outcome, kind_label,
                             outcome_label, state_label)
from ..jobs.reports import item_line, item_slips
from ..yamato.timezone import JST
from . import common
from .job_forms import JobButtonForm

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
ITEMS_PAGE_SIZE = 200


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/jobs", "jobs", jobs_page)
    bp.add_url_rule("/jobs/<kuroneko_id:job_id>", "job", job_page)
    bp.add_url_rule("/jobs/<kuroneko_id:job_id>/progress", "job_progress", job_progress)
    bp.add_url_rule("/jobs/<kuroneko_id:job_id>/results.csv", "job_results", job_results)
    bp.add_url_rule("/jobs/<kuroneko_id:job_id>/retry", "job_retry", retry, methods=["POST"])
    bp.add_url_rule("/jobs/<kuroneko_id:job_id>/cancel", "job_cancel", cancel, methods=["POST"])


def job_or_404(job_id: int) -> Any:
    job = store.get_job(job_id)
    if job is None:
        abort(404)
    return job


def template_helpers() -> dict[str, Any]:
    return {"kind_label": kind_label, "state_label": state_label, "outcome_label": outcome_label,
            "item_line": item_line, "item_slips": item_slips}


def jobs_page():
    page = common.int_arg(request.args.get("page"))
    total, rows = store.jobs_page(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    counts = store.counts(job.id for job in rows)
    progress = {job.id: jobs.progress(job, counts.get(job.id, {})) for job in rows}
    return common.render("jobs.html", jobs=rows, progress=progress, total=total, page=page,
                         pages=max(1, -(-total // PAGE_SIZE)), **template_helpers())


def selected_filter() -> tuple[str, tuple[str, ...] | None]:
    """The result filter of the query string: a group (captured/skipped/error), one outcome,
    or all; anything else is ignored."""
    value = request.args.get("filter") or ""
    if value in FILTERS:
        return value, FILTERS[value][1]
    if value in {o.value for o in Outcome}:
        return value, (value,)
    return "", None


def job_page(job_id: int):
    job = job_or_404(job_id)
    name, outcomes = selected_filter()
    page = common.int_arg(request.args.get("page"))
    total, items = store.items(job.id, outcomes=outcomes, offset=(page - 1) * ITEMS_PAGE_SIZE,
                               limit=ITEMS_PAGE_SIZE)
    progress = jobs.progress(job)
    filters = [(key, label, progress["groups"].get(key, 0)) for key, (label, _) in FILTERS.items()]
    return common.render(
        "job.html", job=job, progress=progress, items=items, total=total, page=page,
        pages=max(1, -(-total // ITEMS_PAGE_SIZE)), filter_name=name, filters=filters,
        button=JobButtonForm(), active=job.state in ACTIVE_STATES,
        can_retry=progress["failed"] > 0 and job.kind != JobKind.B2_EXPORT.value,
        params=job.params or {}, **template_helpers())


def job_progress(job_id: int):
    job = job_or_404(job_id)
    response = jsonify(jobs.progress(job))
    response.headers["Cache-Control"] = "no-store"
    return response


def job_results(job_id: int):
    """結果CSV: every item (UTF-8 with BOM so Excel reads the Japanese; cells neutralised)."""
    job = job_or_404(job_id)
    _, items = store.items(job.id)
    name = f"kuroneko_job{job.id}_{datetime.now(JST):%Y%m%d%H%M%S}.csv"
    return Response("\ufeff" + jobs.results_csv(job, items), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def retry(job_id: int):
    job = job_or_404(job_id)
    if not JobButtonForm(request.form).validate():
        return common.csrf_refused()
    if job.kind == JobKind.B2_EXPORT.value:
        abort(404)
    count = jobs.retry_failed(job.id)
    if count:
        common.info(f"失敗した{count}件を再実行します。")
    else:
        common.error("再実行する失敗分はありません。")
    return redirect(url_for(".job", job_id=job.id))


def cancel(job_id: int):
    job = job_or_404(job_id)
    if not JobButtonForm(request.form).validate():
        return common.csrf_refused()
    count = jobs.cancel(job.id, actor=common.ACTOR)
    if count is None:
        common.error(f"このジョブは「{state_label(job.state)}」のため中止できません。")
    else:
        common.info(f"ジョブを中止しました（未実行の{count}件は実行しません。実行中の注文は完了まで続きます）。")
    return redirect(url_for(".job", job_id=job.id))

