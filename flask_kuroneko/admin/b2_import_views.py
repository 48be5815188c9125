"""「B2出荷データ取込」 (M17): upload B2クラウド's issued-data CSV; the import runs as a job
whose page shows the progress and the per-row report.

The whole file is checked before anything is created (``jobs.start_b2_import``): a refused
file (wrong encoding or column count, a spreadsheet file, binary data, over the size limit …)
gets its Japanese message and changes nothing. A body larger than the limit is refused before
it is read.
"""
from __future__ import annotations

import logging

from flask import Blueprint, redirect, request, url_for

from .. import config, jobs
from ..b2 import FileRefused
from ..jobs import store
from ..jobs.outcomes import JobKind, kind_label, state_label
from . import common
from .job_forms import B2ImportForm

logger = logging.getLogger(__name__)

#: Multipart overhead allowed above the file size limit before a body is refused unread.
FORM_OVERHEAD = 64 * 1024


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/b2/import", "b2_import", import_page)
    bp.add_url_rule("/b2/import", "b2_import_upload", upload, methods=["POST"])


def limit_mb() -> int:
    return config.get("B2_MAX_UPLOAD_MB")


def render_page(*, status: int = 200, refusal: str | None = None):
    _, recent = store.jobs_page(kinds=(JobKind.B2_IMPORT.value,), limit=10)
    progress = {job.id: jobs.progress(job) for job in recent}
    return common.render("b2_import.html", status=status, form=B2ImportForm(), recent=recent,
                         progress=progress, refusal=refusal, limit_mb=limit_mb(),
                         kind_label=kind_label, state_label=state_label)


def import_page():
    return render_page()


def upload():
    too_large = (request.content_length or 0) > limit_mb() * 1024 * 1024 + FORM_OVERHEAD
    if too_large:
        logger.info("B2 import refused unread: %s bytes", request.content_length)
        return render_page(status=413, refusal=f"ファイルが大きすぎます（{limit_mb()}MBまで）。"
                                                "B2クラウドの発行済データを日付などで分けて出力してください。")
    if not B2ImportForm(request.form).validate():
        return common.csrf_refused()
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        return render_page(status=400, refusal="取り込むファイルを選んでください。")
    try:
        job = jobs.start_b2_import(upload_file.stream, filename=upload_file.filename,
                                   actor=common.ACTOR)
    except FileRefused as refused:
        logger.info("B2 import refused (%s)", refused.code)
        return render_page(status=400, refusal=refused.message)
    previous = (job.params or {}).get("previous_job")
    if previous:
        common.info(f"同じファイルはジョブ #{previous} で取込済みです。売上確定済みの注文は二重に登録されません。")
    common.info(f"「B2出荷データ取込」を開始しました（{job.total}件）。")
    return redirect(url_for(".job", job_id=job.id))
