"""Fault injection model (spec §6.2): what can go wrong between the shop and Yamato.

A fault matches by operation / orderNo / merchant (None = any) and fires ``times`` times
(None = until cleared). Whether the request is processed is part of each kind's meaning:

=========== ========== =======================================================
kind        processed  what the caller sees
=========== ========== =======================================================
latency     yes*       the answer after ``seconds``; a read timeout if shorter
drop        yes        connection closed without an answer
refuse      no         connection refused (never reached Yamato)
http500     no         HTTP 500 with a short HTML body
malformed   yes        truncated XML
error       no         returnCode=1 with err0001/err0002/err0003
=========== ========== =======================================================

(*) ``after_processing=False`` makes latency happen before processing, so a timed-out
request is not processed.
"""
from __future__ import annotations

import logging
from typing import Any

from ..yamato.codes import Operation

logger = logging.getLogger(__name__)

KINDS = ("latency", "http500", "drop", "refuse", "malformed", "error")
SYSTEM_ERRORS = ("err0001", "err0002", "err0003")


def make_fault(kind: str, *, operation: str | Operation | None = None,
               order_no: str | None = None, merchant: str | None = None,
               times: int | None = 1, seconds: float | None = None,
               error_code: str | None = None, after_processing: bool = True) -> dict[str, Any]:
    """A validated, JSON-able fault description."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
    if operation is not None:
        operation = Operation(operation).value  # accepts "KAARA0010" or Operation
    if kind == "latency" and (seconds is None or float(seconds) < 0):
        raise ValueError("a latency fault needs seconds >= 0")
    if kind == "error":
        error_code = error_code or "err0001"
        if error_code not in SYSTEM_ERRORS:
            raise ValueError(f"error_code must be one of {', '.join(SYSTEM_ERRORS)}")
    if times is not None and int(times) < 1:
        raise ValueError("times must be >= 1 (or None for a permanent fault)")
    return {"kind": kind, "operation": operation, "order_no": order_no, "merchant": merchant,
            "times": None if times is None else int(times),
            "seconds": None if seconds is None else float(seconds),
            "error_code": error_code, "after_processing": bool(after_processing)}


def matches(fault: dict[str, Any], op: Operation, form: dict[str, str]) -> bool:
    return ((fault["operation"] in (None, op.value))
            and (fault["order_no"] in (None, form.get("orderNo")))
            and (fault["merchant"] in (None, form.get("ycfStrCode"))))


def take(faults: list[dict[str, Any]], op: Operation,
         form: dict[str, str]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The first matching fault (one firing consumed) and the remaining fault list."""
    for index, fault in enumerate(faults):
        if matches(fault, op, form):
            remaining = list(faults)
            if fault["times"] is not None:
                if fault["times"] <= 1:
                    remaining.pop(index)
                else:
                    remaining[index] = dict(fault, times=fault["times"] - 1)
            logger.info("sandbox fault %s fires on %s %s", fault["kind"], op.value,
                        form.get("orderNo", ""))
            return fault, remaining
    return None, faults
