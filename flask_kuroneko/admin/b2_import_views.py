"""「B2出荷データ取込」 (M17): upload B2クラウド's issued-data CSV; the import runs as a job
whose page shows the progress and the per-row report.

The whole file is checked before anything is created (``jobs.start_b2_import``): a refused
file (wrong encoding or column count, a spreadsheet file, binary data, over the size limit …)
gets its Japanese message and changes nothing. A body larger than the limit is refused before
it is read; a smaller one may exceed the app's general ``MAX_CONTENT_LENGTH`` (the limit of
this one endpoint is KURONEKO_B2_MAX_UPLOAD_MB, Flask ≥ 3.1).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, redirect, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from .. import config, jobs
from ..b2 import FileRefused
from ..jobs import store
from ..jobs.outcomes import JobKind, kind_label, state_label
from ..web.inputs import refusal_response
from . import common
from .job_forms import B2ImportForm

logger = logging.getLogger(__name__)

BLUEPRINT = "kuroneko_admin"
#: Multipart overhead allowed above the file size limit before a body is refused unread.
FORM_OVERHEAD = 64 * 1024


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/b2/import", "b2_import", import_page)
    bp.add_url_rule("/b2/import", "b2_import_upload", upload, methods=["POST"])
    # An app-level hook: it must run before any hook (the host's too) reads the form.
    bp.before_app_request(upload_size_limit)
    bp.register_error_handler(RequestEntityTooLarge, refused_too_large)


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


def upload_size_limit() -> Any:
    """``before_app_request``: for the upload endpoint only, a body over
    KURONEKO_B2_MAX_UPLOAD_MB is refused unread (a minimal page: the admin guard has not run
    yet), and that limit replaces the app's general MAX_CONTENT_LENGTH for this request
    (Flask ≥ 3.1; older Flask keeps the app's). Runs before the host's own hooks when
    ``kuroneko.init_app`` comes first in the factory."""
    if request.endpoint != f"{BLUEPRINT}.b2_import_upload":
        return None
    limit = limit_mb() * 1024 * 1024 + FORM_OVERHEAD
    if (request.content_length or 0) > limit:
        logger.info("B2 import refused unread: %s bytes", request.content_length)
        return refusal_response(too_large_message(), status=413)
    try:
        request.max_content_length = limit
    except AttributeError:
        pass
    return None


def refused_too_large(exc: RequestEntityTooLarge) -> Any:
    """A body over a limit found while a hook read the form (no admin data on this page)."""
    return refusal_response(too_large_message(), status=413)


def too_large_message() -> str:
    return (f"ファイルが大きすぎます（{limit_mb()}MBまで）。B2クラウドの発行済データを日付などで"
            "分けて出力してください（何も登録していません）。")


def upload():
    try:
        valid = B2ImportForm(request.form).validate()
        upload_file = request.files.get("file")
    except RequestEntityTooLarge:
        return render_page(status=413, refusal=too_large_message())
    if not valid:
        return common.csrf_refused()
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
