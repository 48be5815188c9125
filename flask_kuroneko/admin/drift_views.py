"""差異一覧 (M25): every payment where the shop and Yamato disagree — cancelled, shipped or
shipment-cancelled at Yamato, a late NG, a transaction Yamato does not know; the host's order
cancelled or its total changed while Yamato holds the payment — with each fix as a button
(send ours to Yamato, or 「確認済み」 to keep Yamato's state; posted to the dialog's
``payment_drift_fix``). Newest first, keyset paging; open ones by default.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, request

from .. import payments
from ..payments import drift as drift_kinds
from . import common
from .forms import ButtonForm
from .listing import Cursor, page_of

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/drifts", "drifts", drifts_page)


def drifts_page():
    st = common.state()
    P = st.models.Payment
    show_all = request.args.get("all") == "1"
    kind = request.args.get("kind") or ""
    query = sa.select(P).where(drift_kinds.recorded_filter(P) if show_all
                               else drift_kinds.open_filter(P))
    if kind in drift_kinds.LABELS:
        query = query.where(P.drift_kind == kind)
    else:
        kind = ""
    page = page_of(st.db.session, query, P.id, Cursor.from_args(request.args), size=PAGE_SIZE)
    rows = [(p, payments.payment_state(p), payments.drift_fix_options(p)) for p in page.rows]
    active = {k: v for k, v in {"all": "1" if show_all else "", "kind": kind}.items() if v}
    return common.render("drifts.html", page=page, rows=rows, show_all=show_all, kind=kind,
                         kinds=list(drift_kinds.LABELS.items()), active=active,
                         button=ButtonForm(), here=request.full_path.rstrip("?"))
