"""「B2出荷データ取込」 (M17) as a job: B2クラウド's issued-data file → one item per order.

Creating the job (in the admin's request or the CLI) reads and checks the whole file first
(``b2.parse_issued``: a refused file changes nothing), finds every お客様管理番号 with one
query per 500 keys and matches the rows (``b2.match``). Each known order becomes an item with
all its 伝票番号 (several rows = several parcels; rows ``決済ID-1``, ``決済ID-2`` belong to
one order); every other row is reported as a finished item of its own (unknown order, invalid
or missing 伝票番号, unreadable row, repeated row), so the per-row report is the job's items.

Running an item: the host is told the order shipped (``shipment_recorder``, first number) and
the payment is captured (``capture.capture_item``). A re-upload of the same file registers
nothing twice: a payment already captured with the file's number is reported 売上確定済み; one
captured with a different number is reported as a conflict and left as it is.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, BinaryIO

import sqlalchemy as sa

from .. import config
from ..b2 import IssuedFile, RowKind, match, parse_issued
from ..state import current_state
from . import dispatch, store
from .capture import YAMATO, capture_item
from .outcomes import JobKind, Outcome
from .store import ItemResult, ItemSpec

logger = logging.getLogger(__name__)

LOOKUP_BATCH = 500
_SUFFIX = re.compile(r"^(?P<base>.+)-[0-9]{1,2}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ROW_OUTCOMES = {
    RowKind.INVALID_SLIP: Outcome.INVALID_SLIP,
    RowKind.MISSING_SLIP: Outcome.INVALID_SLIP,
    RowKind.MISSING_KEY: Outcome.INVALID_ROW,
    RowKind.MALFORMED: Outcome.INVALID_ROW,
    RowKind.DUPLICATE: Outcome.SKIPPED,
}


def base_key(key: str) -> str | None:
    """``決済ID-N`` (one order split over several rows) → ``決済ID``."""
    found = _SUFFIX.match(key)
    return found.group("base") if found else None


def payments_by_key(keys: list[str]) -> dict[str, Any]:
    """お客様管理番号 → payment (by 決済ID, or the 決済ID before a ``-N`` suffix)."""
    state = current_state()
    P = state.models.Payment
    wanted = sorted({k for k in keys} | {b for b in map(base_key, keys) if b})
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), LOOKUP_BATCH):
        chunk = wanted[start:start + LOOKUP_BATCH]
        for payment in state.db.session.scalars(sa.select(P).where(P.order_no.in_(chunk))):
            found[payment.order_no] = payment
    return {key: found.get(key) or found.get(base_key(key) or "") for key in keys
            if found.get(key) or found.get(base_key(key) or "")}


def clean_filename(filename: str | None) -> str:
    name = os.path.basename((filename or "").replace("\\", "/"))
    return _CONTROL.sub("", name)[:200] or "（ファイル名なし）"


def item_specs(issued: IssuedFile) -> tuple[list[ItemSpec], list[dict]]:
    """One item per known order (its slips merged), one finished item per other row; and the
    伝票番号 found under several keys (同梱, or a hand edit in B2: shown, not decided)."""
    by_key = payments_by_key(issued.keys())
    result = match(issued, by_key)
    orders: dict[int, dict[str, Any]] = {}
    for slips in result.matched:
        payment = slips.target
        entry = orders.setdefault(payment.id, {"payment": payment, "keys": [], "slips": [],
                                               "lines": []})
        entry["keys"].append(slips.key)
        entry["slips"].extend(n for n in slips.tracking_nos if n not in entry["slips"])
        entry["lines"].extend(slips.lines)
    placed: list[tuple[int, ItemSpec]] = []
    for entry in orders.values():
        p = entry["payment"]
        placed.append((min(entry["lines"]), ItemSpec(
            key="・".join(entry["keys"]), payment_id=p.id, order_no=p.order_no,
            host_order_id=p.host_order_id,
            params={"tracking_nos": entry["slips"], "lines": sorted(entry["lines"])})))
    for unknown in result.unknown:
        placed.append((unknown.lines[0], ItemSpec(
            key=unknown.key, params={"tracking_nos": list(unknown.tracking_nos),
                                     "lines": list(unknown.lines)},
            outcome=Outcome.UNKNOWN_ORDER, code="unknown_order", message=unknown.message)))
    for row in result.problems:
        code = row.kind.value + (f":{row.reason}" if row.reason else "")
        placed.append((row.line, ItemSpec(
            key=row.key, params={"tracking_nos": [row.tracking_no] if row.tracking_no else [],
                                 "lines": [row.line]},
            outcome=ROW_OUTCOMES[row.kind], code=code, message=row.message)))
    placed.sort(key=lambda pair: pair[0])
    shared = [{"tracking_no": s.tracking_no, "keys": list(s.keys)} for s in result.shared]
    return [spec for _, spec in placed], shared


def start(source: bytes | BinaryIO, *, filename: str | None, actor: str | None) -> Any:
    """Check the file and create the import job (``b2.FileRefused`` for an unusable file:
    nothing is created). Returns the job; ``job.params["previous_job"]`` names an earlier
    import of the same bytes."""
    max_bytes = config.get("B2_MAX_UPLOAD_MB") * 1024 * 1024
    issued = parse_issued(source, max_bytes=max_bytes)
    previous = store.previous_import(issued.sha256)
    specs, shared = item_specs(issued)
    params = {"filename": clean_filename(filename), "sha256": issued.sha256,
              "encoding": issued.encoding, "has_header": issued.has_header,
              "rows": len(issued.rows), "orders": sum(1 for s in specs if s.outcome is None),
              "previous_job": previous.id if previous is not None else None,
              "shared": shared}
    job = store.create(JobKind.B2_IMPORT, specs, created_by=actor, params=params,
                       runner=dispatch.choose_runner())
    dispatch.submit(job)
    return job


def run_item(item: Any, token: str) -> ItemResult:
    slips = list((item.params or {}).get("tracking_nos") or [])
    return capture_item(item, token, item.payment_id, carrier=YAMATO, slips=slips,
                        record_host=True)
