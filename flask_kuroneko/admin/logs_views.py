"""決済エラーログ (M22): list, 「ログ出力」 (CSV) and 「ログ削除」. The notice on every admin
page (blueprint context) stays until the last error log is deleted."""
from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, request, url_for

from ..payments import transitions
from ..yamato.codes import Operation as Api
from ..models import KIND_LABELS, PaymentKind
from ..csvcells import cell
from ..web import parse_ids
from . import common
from .forms import ButtonForm

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
MSG_BAD_IDS = "削除するログの指定が正しくありません。画面を再読み込みしてからやり直してください。"
CSV_HEADER = ["登録日", "リンクキー", "決済種別", "処理", "エラーコード", "ステータス", "詳細"]
API_LABELS = {op.value: op.label for op in Api}


def operation_label(operation: str | None) -> str:
    """処理: Yamato's API name, or the service operation's Japanese name."""
    operation = operation or ""
    return API_LABELS.get(operation) or transitions.LABELS.get(operation, operation)


#: Our own error-log codes, as the merchant reads them in 詳細 (ステータス is the message
#: alone, as in the manual; the CSV keeps the raw code for a bug report).
OWN_CODES = {
    "capture_rule": "売上確定の条件を満たしていません",
    "drift": "ヤマトとの状態不一致",
    "late_ng": "与信後の決済不可",
    "connection": "接続エラー（ヤマトに届いていません）",
    "timeout": "応答なし（結果を確認中）",
    "unresolved": "結果を確定できませんでした",
    "reauthorize": "再与信",
    "result1": "ご利用不可",
    "result2": "限度額超過",
}
_YAMATO_CODE = re.compile(r"^(?:[a-z]{4,5}\d{3}E|err\d{4})$")


def code_text(code: str | None) -> str:
    """詳細 of a row's code: Yamato's error code as such, ours in words, a field name of an
    input refused before sending as 入力エラー."""
    if not code:
        return ""
    if _YAMATO_CODE.match(code):
        return f"エラーコード：{code}"
    return OWN_CODES.get(code, f"入力エラー（{code}）")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/errors", "errors", errors_page)
    bp.add_url_rule("/errors.csv", "errors_csv", errors_csv, methods=["POST"])
    bp.add_url_rule("/errors/delete", "errors_delete", delete, methods=["POST"])


def kind_label(kind: str | None) -> str:
    try:
        return KIND_LABELS[PaymentKind(kind)]
    except ValueError:
        return kind or ""


def detail_text(detail: object) -> str:
    if not detail:
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


def _redact(text: str, password: str) -> str:
    """Belt and braces: the logs never receive the password, but an export must not leak it
    even if a caller put it in a message."""
    return text.replace(password, "********") if password else text


def errors_page():
    st = common.state()
    E = st.models.ErrorLog
    page = common.int_arg(request.args.get("page"))
    total = st.db.session.scalar(sa.select(sa.func.count(E.id))) or 0
    rows = list(st.db.session.scalars(sa.select(E).order_by(E.created_at.desc(), E.id.desc())
                                      .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    password = st.settings().password
    return common.render("errors.html", rows=rows, total=total, page=page,
                         pages=max(1, -(-total // PAGE_SIZE)), button=ButtonForm(),
                         kind_label=kind_label, operation_label=operation_label,
                         code_text=code_text,
                         detail_text=lambda d: _redact(detail_text(d), password),
                         redact=lambda t: _redact(t or "", password))


def errors_csv():
    """「ログ出力」: every error log row as CSV (UTF-8 with BOM so Excel reads the Japanese)."""
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    st = common.state()
    E = st.models.ErrorLog
    password = st.settings().password
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in st.db.session.scalars(sa.select(E).order_by(E.created_at, E.id)):
        # Every text cell neutralised: codes and messages come from Yamato's answers.
        writer.writerow([cell(v) for v in (
            common.jst(row.created_at), row.order_no or "", kind_label(row.kind),
            operation_label(row.operation), row.code or "", _redact(row.message, password),
            _redact(detail_text(row.detail), password))])
    name = f"kuroneko_error_log_{datetime.now(common.JST):%Y%m%d%H%M%S}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def delete():
    """「ログ削除」: every row (or the ticked ``log_id`` rows)."""
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    st = common.state()
    E = st.models.ErrorLog
    submitted = request.form.getlist("log_id")
    ids = parse_ids(submitted)
    if ids is None:     # a crafted or garbled id: delete nothing rather than guess
        common.error(MSG_BAD_IDS)
        return redirect(url_for(".errors"))
    statement = sa.delete(E).where(E.id.in_(ids)) if submitted else sa.delete(E)
    deleted = st.db.session.execute(statement).rowcount
    st.db.session.commit()
    logger.info("kuroneko admin: %s error log rows deleted", deleted)
    common.info(f"決済エラーログを{deleted}件削除しました。")
    return redirect(url_for(".errors"))
