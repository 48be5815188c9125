"""The payment state machine: one pipeline for every Yamato operation, one status writer.

Import the operations from here (``from flask_kuroneko import payments``;
``payments.capture(payment_id, carrier=…, tracking_no=…)``). Modules, bottom to top:

  status         the one status writer (from→to table, dates)
  transitions    which operation may start from which status; Japanese operation names
  journal        the write-ahead journal of Yamato requests and its claims
  history        payment history, 決済エラーログ, 決済直前ログ
  pipeline       lock → check → journal → send → apply → history → error log → commit → signal
  lookups        reading payments; sms_window: the スマホタイプ 30-minute window
  authorization  与信 (KAARA0010) and credit decisions
  aftersales     売上確定, 送り状番号変更, 出荷取消, 取消, 利用額変更, 請求書再発行
  sync           取引状況確認; drift: 差異 (M25) kept until resolved or 「確認済み」;
                 drift_fixes: its buttons; bulk_sync: the sync at scale
  recovery       settling journaled operations from Yamato's answer; resolve
  sms            スマホタイプ: 認証番号, 再送信, 戻る, expiry, Yamato's push
  sweep          the background pass; reactions: the host's inbound signals
  runs, stats    the record of background runs; the figures of `flask kuroneko stats`
"""
from __future__ import annotations

from .aftersales import (YAMATO_CARRIERS, cancel, cancel_shipment, capture, capture_plan,
                         change_amount, change_tracking, is_yamato_carrier, reauthorize,
                         reissue_invoice)
from .authorization import authorize
from .drift import acknowledge as acknowledge_drift
from .drift import check as check_drift
from .drift import do_not_ship
from .drift import label as drift_label
from .drift import open_count as open_drift_count
from .drift_fixes import apply as fix_drift
from .drift_fixes import LABELS as DRIFT_FIX_LABELS
from .drift_fixes import fixes_for as drift_fix_options
from .lookups import (current_payment, get_payment, operations_for, payment_by_order_no,
                      payment_by_token, payments_for, payments_of_order, standing)
from .outcomes import OutcomeKind, PaymentOutcome, SmsOutcome, SmsOutcomeKind
from .overview import PaymentState
from .overview import state_of as payment_state
from .recovery import check_status, resolve, settle_operation
from .sms import (SMS_MAX_ATTEMPTS, SMS_MAX_RESTARTS, abandon_sms, handle_sms_push, restart_sms,
                  verify_sms)
from .ship_window import closes_on as ship_window_closes_on
from .ship_window import closing_condition as ship_window_closing
from .ship_window import warning as ship_window_warning
from .sms_window import declined_by_timeout, sms_window_over
from .status import IllegalStatusMove
from .sweep import SweepReport, sweep
from .sync import reconcile, sync_status
from .sync_selection import sync_selected
from .yamato_side import warning_label as yamato_warning_label
from .yamato_side import yamato_label

__all__ = [
    "DRIFT_FIX_LABELS", "IllegalStatusMove", "OutcomeKind", "PaymentOutcome", "PaymentState",
    "SMS_MAX_ATTEMPTS", "SMS_MAX_RESTARTS", "SmsOutcome", "SmsOutcomeKind", "SweepReport",
    "YAMATO_CARRIERS", "abandon_sms", "acknowledge_drift", "authorize", "cancel",
    "cancel_shipment", "capture", "capture_plan", "change_amount", "change_tracking",
    "check_drift", "check_status", "current_payment", "declined_by_timeout", "do_not_ship",
    "drift_fix_options", "drift_label", "fix_drift", "get_payment", "handle_sms_push",
    "is_yamato_carrier", "open_drift_count", "operations_for", "payment_by_order_no",
    "payment_by_token", "payment_state", "payments_for", "payments_of_order", "standing",
    "ship_window_closes_on", "ship_window_closing", "ship_window_warning", "reauthorize",
    "reconcile", "reissue_invoice", "resolve", "restart_sms", "settle_operation",
    "sms_window_over", "sweep", "sync_selected", "sync_status", "verify_sms", "yamato_label",
    "yamato_warning_label",
]
