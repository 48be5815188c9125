"""Signals of flask_kuroneko (one blinker namespace, Flask's ``signals.py`` style).

Inbound signals are sent by the host when its order changes; the extension reacts (capture,
cancel, amount change) without ever breaking the host's save. Outbound signals are sent by the
extension after a payment change is committed; the host may react (e-mail, order status).

Every signal's sender is the Flask application (send ``current_app._get_current_object()``,
not the ``current_app`` proxy). Receivers must accept ``**extra``: new keyword arguments may be
added in later versions.
"""
from __future__ import annotations

import logging

from blinker import Namespace

logger = logging.getLogger(__name__)

_signals = Namespace()

# --------------------------------------------------------------------------- inbound

order_status_changed = _signals.signal("kuroneko.order-status-changed", doc="""\
Sent by the HOST after an order's status (対応状況) changed.

sender: the Flask app.
order: the host order object (as returned by ``@kuroneko.order_loader``).
old: the previous status name (str or None).
new: the new status name (str).

A ``new`` status listed in KURONEKO_SHIPPED_STATUSES confirms the sale (売上確定, M16/M18);
one listed in KURONEKO_CANCELLED_STATUSES cancels the payment when the settings switch
「受注キャンセルで取消」 is on. Send it after the host's changes are flushed; the extension
commits ``db.session`` as part of its reaction.""")

order_updated = _signals.signal("kuroneko.order-updated", doc="""\
Sent by the HOST after an order's lines, amount, carrier or tracking number changed.

sender: the Flask app.
order: the host order object.

A new tracking number after 売上確定 is registered at Yamato (変更登録); an amount change is
sent to Yamato (利用額変更) when the settings switch 「受注金額変更で利用額変更」 is on.""")

# --------------------------------------------------------------------------- outbound
# Common keyword arguments: ``payment`` (the Payment row, committed) and ``order_id`` (the
# host order id, str).

payment_authorized = _signals.signal("kuroneko.payment-authorized", doc="""\
Sent by the extension when a payment reached 与信 (credit approved).

sender: the Flask app.
payment: the Payment row.
order_id: the host order id (str).""")

payment_under_review = _signals.signal("kuroneko.payment-under-review", doc="""\
Sent by the extension when Yamato put the payment 審査中 (review, or waiting for the SMS code).

sender: the Flask app.
payment: the Payment row.
order_id: the host order id (str).""")

payment_declined = _signals.signal("kuroneko.payment-declined", doc="""\
Sent by the extension when a payment became 決済不可 (declined, limit exceeded, SMS failed,
abandoned or expired).

sender: the Flask app.
payment: the Payment row.
order_id: the host order id (str).
message: Japanese sentence fit for the customer (str).
do_not_ship: True when Yamato turned an approval into NG (a late NG found by 取引状況確認):
    the order may already be in the shipping queue and must not ship (absent otherwise).""")

sales_confirmed = _signals.signal("kuroneko.sales-confirmed", doc="""\
Sent by the extension when a shipment was registered with Yamato (売上確定).

sender: the Flask app.
payment: the Payment row (``carrier``, ``tracking_no`` set).
order_id: the host order id (str).""")

shipment_cancelled = _signals.signal("kuroneko.shipment-cancelled", doc="""\
Sent by the extension when a shipment was cancelled at Yamato (出荷取消, KAASL0010
processDiv 9): the payment is 与信 again and its 送り状番号 is gone.

sender: the Flask app.
payment: the Payment row (``tracking_no`` None).
order_id: the host order id (str).

The host may reopen the order (e.g. 発送済み back to 新規受付) so that shipping it again
confirms the sale again. Do not send ``order_status_changed`` for that change.""")

payment_cancelled = _signals.signal("kuroneko.payment-cancelled", doc="""\
Sent by the extension when a payment was cancelled at Yamato (取消済み).

sender: the Flask app.
payment: the Payment row.
order_id: the host order id (str).""")

payment_amount_changed = _signals.signal("kuroneko.payment-amount-changed", doc="""\
Sent by the extension when Yamato accepted a new amount (利用額変更).

sender: the Flask app.
payment: the Payment row now carrying the amount (a new row when an increase needed a
    re-authorization; its ``replaces_id`` points to the old one).
order_id: the host order id (str).
old_amount: the amount before (int, yen).
new_amount: the amount after (int, yen).""")

payment_error = _signals.signal("kuroneko.payment-error", doc="""\
Sent by the extension when a payment operation failed (Yamato refused it, or it could not be
reached); the failure is also in the 決済エラーログ.

sender: the Flask app.
payment: the Payment row (may be None when the failure happened before a row existed).
order_id: the host order id (str or None).
operation: the service operation that failed (str, e.g. "capture").
code: Yamato's error code or our own code such as "connection" (str or None).
message: Japanese message for the admin (str).""")

INBOUND = (order_status_changed, order_updated)
OUTBOUND = (payment_authorized, payment_under_review, payment_declined, sales_confirmed,
            shipment_cancelled, payment_cancelled, payment_amount_changed, payment_error)
