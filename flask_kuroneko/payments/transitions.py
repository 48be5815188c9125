"""Which payment operation may run from which payment status (the transitions table).

One table, read by the pipeline (``pipeline.locked``) before any Yamato call, so an illegal request (cancelling a
declined payment, capturing twice) never reaches Yamato. Yamato's own permission table (spec
§4.9) is stricter in places (e.g. a reissue needs 売上確定 at Yamato); those refusals come back
as Yamato errors and are logged, not guessed here.
"""
from __future__ import annotations

import logging
from types import MappingProxyType

from ..errors import InvalidTransition
from ..models import PaymentStatus as S

logger = logging.getLogger(__name__)

#: operation -> statuses it may start from.
ALLOWED: MappingProxyType[str, frozenset[S]] = MappingProxyType({
    "verify_sms": frozenset({S.AWAITING_SMS}),
    # restart: the code expired (Yamato voided the attempt) or the customer asks for a new SMS.
    "restart_sms": frozenset({S.AWAITING_SMS}),
    "abandon_sms": frozenset({S.AWAITING_SMS}),
    "resolve": frozenset({S.PENDING, S.UNDER_REVIEW, S.AWAITING_SMS}),
    "capture": frozenset({S.AUTHORIZED}),
    "change_tracking": frozenset({S.CAPTURED}),
    "cancel_shipment": frozenset({S.CAPTURED}),
    "cancel": frozenset({S.AUTHORIZED, S.CAPTURED}),
    "change_amount": frozenset({S.AUTHORIZED, S.CAPTURED}),
    "reissue_invoice": frozenset({S.CAPTURED}),
    # before Yamato's 90-day shipment window closes (offered only then, see lookups)
    "reauthorize": frozenset({S.AUTHORIZED}),
    "sync_status": frozenset({S.AUTHORIZED, S.CAPTURED, S.CANCELLED, S.UNDER_REVIEW,
                              S.AWAITING_SMS}),
})

#: Japanese name of each operation, for messages and the history's 処理区分.
LABELS: MappingProxyType[str, str] = MappingProxyType({
    "authorize": "与信",              # the manual's 処理区分 of the authorization (M21)
    "verify_sms": "SMS認証",
    "restart_sms": "SMS再送信",
    "abandon_sms": "SMS認証中止",
    "resolve": "審査結果確認",
    "capture": "売上確定",
    "change_tracking": "送り状番号変更",
    "cancel_shipment": "出荷取消",
    "cancel": "取消",
    "change_amount": "利用額変更",
    "reissue_invoice": "請求書再発行",
    "reauthorize": "再与信",
    "sync_status": "取引状況確認",
})


def label(operation: str) -> str:
    """The Japanese name of an operation (処理区分); the code name when it has none."""
    return LABELS.get(operation, operation)


def allowed(operation: str, status: S | str) -> bool:
    """True when ``operation`` may start from ``status``."""
    try:
        return S(status) in ALLOWED[operation]
    except (KeyError, ValueError):
        return False


def check(operation: str, status: S | str) -> None:
    """Raise InvalidTransition (Japanese message) unless ``operation`` may start from ``status``."""
    if operation not in ALLOWED:
        raise InvalidTransition(f"不明な処理です（{operation}）。", current=str(status),
                                operation=operation)
    if allowed(operation, status):
        return
    current = S(status)
    permitted = "・".join(sorted({s.label for s in ALLOWED[operation]}))
    raise InvalidTransition(
        f"決済状況が「{current.label}」のため「{LABELS[operation]}」はできません"
        f"（「{permitted}」の決済のみ可能です）。",
        current=current.value, operation=operation)


def operations_for(status: S | str) -> list[str]:
    """Operations offered for a payment in ``status`` (e.g. the admin dialog's buttons)."""
    return [op for op in ALLOWED if allowed(op, status)]
