"""The ``/_sim`` JSON back-office API (spec §6.8): the HTTP twin of the Simulator methods.

Illegal transitions answer 409 with a Japanese ``message``; unknown transactions 404.
Served only to the clients ``guard.py`` allows; cross-site POSTs are refused (403).
JSON bodies and form bodies are both accepted so ``curl -d`` works.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from . import current, guard
from .clock import parse_iso
from .lifecycle import TransitionError, UnknownTransaction

logger = logging.getLogger(__name__)

backoffice = Blueprint("sandbox_backoffice", __name__, url_prefix="/_sim")
backoffice.before_request(guard.refuse_unless_allowed)


def _params() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return request.form.to_dict()


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


@backoffice.errorhandler(TransitionError)
def _transition_error(exc: TransitionError):
    return _error(409, str(exc))


@backoffice.errorhandler(UnknownTransaction)
def _not_found(exc: UnknownTransaction):
    return _error(404, str(exc))


@backoffice.errorhandler(ValueError)
def _bad_value(exc: ValueError):
    return _error(400, str(exc))


@backoffice.post("/reset")
def reset():
    current.simulator().reset()
    return jsonify({"ok": True})


@backoffice.get("/clock")
def get_clock():
    return jsonify({"now": current.simulator().now().isoformat()})


@backoffice.post("/clock")
def set_clock():
    value = _params().get("now")
    current.simulator().set_now(parse_iso(value) if value else None)
    return jsonify({"now": current.simulator().now().isoformat()})


@backoffice.post("/clock/advance")
def advance():
    seconds = float(_params().get("seconds", 0))
    return jsonify({"now": current.simulator().advance(seconds).isoformat()})


@backoffice.post("/tick")
def tick():
    return jsonify({"now": current.simulator().tick().isoformat()})


@backoffice.get("/tx")
def list_transactions():
    return jsonify(current.simulator().transactions(request.args.get("merchant") or None))


@backoffice.get("/tx/<merchant>/<order_no>")
def get_transaction(merchant: str, order_no: str):
    tx = current.simulator().transaction(merchant, order_no)
    if tx is None:
        return _error(404, f"no transaction {merchant}/{order_no}")
    return jsonify(tx)


ACTIONS = {
    "deliver": lambda sim, m, o, p: sim.deliver(m, o),
    "investigate": lambda sim, m, o, p: sim.investigate(m, o),
    "warn": lambda sim, m, o, p: sim.warn(m, o, int(p.get("warning", 1))),
    "invoice": lambda sim, m, o, p: sim.invoice(m, o),
    "pay": lambda sim, m, o, p: sim.pay(m, o),
    "resolve-review": lambda sim, m, o, p: sim.resolve_review(m, o, int(p.get("result", 0))),
    "flip-ng": lambda sim, m, o, p: sim.flip_ng(m, o),
    "expire-sms": lambda sim, m, o, p: sim.expire_sms(m, o),
}


@backoffice.post("/tx/<merchant>/<order_no>/<action>")
def tx_action(merchant: str, order_no: str, action: str):
    if action not in ACTIONS:
        return _error(404, f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    return jsonify(ACTIONS[action](current.simulator(), merchant, order_no, _params()))


@backoffice.get("/sms/<merchant>/<order_no>")
def sms_code(merchant: str, order_no: str):
    code = current.simulator().sms_code(merchant, order_no)
    if code is None:
        return _error(404, f"no SMS for {merchant}/{order_no}")
    return jsonify({"ycfStrCode": merchant, "orderNo": order_no, "code": code})


@backoffice.get("/sms-outbox")
def sms_outbox():
    return jsonify(current.simulator().sms_outbox)


@backoffice.get("/push-log")
def push_log():
    return jsonify(current.simulator().push_log)


@backoffice.get("/faults")
def list_faults():
    return jsonify(current.simulator().faults())


@backoffice.post("/faults")
def add_fault():
    p = dict(_params())
    kind = p.pop("kind", "")
    for key in ("times", "seconds"):
        if key in p and p[key] not in (None, ""):
            p[key] = float(p[key]) if key == "seconds" else int(p[key])
    if "after_processing" in p and isinstance(p["after_processing"], str):
        p["after_processing"] = p["after_processing"].lower() in ("1", "true", "yes", "on")
    known = {"operation", "order_no", "merchant", "times", "seconds", "error_code",
             "after_processing"}
    unknown = set(p) - known
    if unknown:
        return _error(400, f"unknown fault field(s): {', '.join(sorted(unknown))}")
    return jsonify(current.simulator().inject_fault(kind, **p)), 201


@backoffice.delete("/faults")
def clear_faults():
    current.simulator().clear_faults()
    return jsonify({"ok": True})


@backoffice.get("/merchants")
def merchants():
    return jsonify({code: m.public_dict() for code, m in current.simulator().merchants().items()})


@backoffice.post("/merchants/<code>")
def configure_merchant(code: str):
    merchant = current.simulator().configure_merchant(code, **_params())
    return jsonify(merchant.public_dict())
