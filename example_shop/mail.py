"""Customer mail: always written to the outbox table, also sent by SMTP when configured.

SMTP failures are logged and recorded on the outbox row; they never break a checkout.
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, render_template

from .extensions import db
from .models import MailMessage, Order, utcnow

logger = logging.getLogger(__name__)

SUBJECTS = {
    "confirmation": "【{shop}】ご注文ありがとうございます（注文番号 {order_id}）",
    "cancellation": "【{shop}】ご注文キャンセルのお知らせ（注文番号 {order_id}）",
}


def send_order_mail(order: Order, kind: str, *, payment=None) -> MailMessage:
    """Write the mail of ``kind`` for ``order`` to the outbox (the caller commits)."""
    shop = current_app.config["SHOP_NAME"]
    subject = SUBJECTS[kind].format(shop=shop, order_id=order.id)
    body = render_template(f"mail/{kind}.txt", order=order, payment=payment, shop_name=shop)
    message = MailMessage(order_id=order.id, kind=kind, recipient=order.email, subject=subject,
                          body=body)
    host = current_app.config.get("SHOP_SMTP_HOST")
    if host:
        message.delivery = _send_smtp(host, order.email, subject, body)
    db.session.add(message)
    if kind == "confirmation":
        order.confirmation_sent_at = utcnow()
    elif kind == "cancellation":
        order.cancellation_sent_at = utcnow()
    logger.info("mail %s for order %s queued (%s)", kind, order.id, message.delivery)
    return message


def _send_smtp(host: str, recipient: str, subject: str, body: str) -> str:
    config = current_app.config
    msg = EmailMessage()
    msg["From"] = config["SHOP_MAIL_FROM"]
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(host, int(config.get("SHOP_SMTP_PORT", 25)), timeout=10) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        logger.error("SMTP delivery to %s failed: %s", host, exc.__class__.__name__)
        return "smtp-failed"
    return "smtp"
