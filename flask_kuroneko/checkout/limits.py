"""Abuse limits of スマホタイプ: SMS sent and wrong codes, per phone number and per browser.

Why: every KAARA0010 of スマホタイプ and every 「再送信」 makes Yamato text a 4-digit code to the
number the customer typed — anyone's number, as often as they like — and Yamato's own limits
(5 wrong codes per attempt, our 3 new codes per order) reset with every new order.

Per phone number the counts come from the ``kuroneko_payments`` rows themselves (every SMS
attempt is a row with ``sms_phone``, ``created_at`` and ``sms_attempts``), so they hold across
orders, browsers and processes without a table of their own. Per browser they are kept in the
signed session (the weaker limit: a browser can drop its cookie). Check and send happen under a
process-local lock per number, so parallel requests of one process cannot both pass the last
free slot; across processes the count may overshoot by the number of concurrent requests (a
counter table locked per number would close that; see SECURITY.md).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import sqlalchemy as sa
from flask import has_request_context, session

from .. import config
from ..models import utcnow
from ..state import current_state

logger = logging.getLogger(__name__)

SESSION_SENDS = "kuroneko_sms_sends"        # epoch seconds of the SMS this browser caused
SESSION_GUESSES = "kuroneko_sms_guesses"    # epoch seconds of this browser's wrong codes

MSG_TOO_MANY_SMS = ("認証番号（SMS）の送信回数が上限に達しました。{minutes}分ほど時間をおいてから、"
                    "もう一度お試しいただくか、別のお支払方法をお選びください。")
MSG_TOO_MANY_GUESSES = ("認証番号の入力回数が上限に達しました。{minutes}分ほど時間をおいてから、"
                        "もう一度お試しください。")

_LOCKS = tuple(threading.Lock() for _ in range(64))


@contextmanager
def phone_lock(phone: str | None) -> Iterator[None]:
    """Serialise "count, then send" for one phone number within this process."""
    if not phone:
        yield
        return
    with _LOCKS[hash(phone) % len(_LOCKS)]:
        yield


def _recent(key: str, minutes: int) -> list[float]:
    if not has_request_context():
        return []
    horizon = time.time() - minutes * 60
    stamps = session.get(key)
    if not isinstance(stamps, list):
        return []
    return [s for s in stamps if isinstance(s, (int, float)) and s > horizon]


def _note(key: str, minutes: int, limit: int) -> None:
    if has_request_context():
        session[key] = (_recent(key, minutes) + [time.time()])[-(limit + 1):]


def _payments_of(phone: str, minutes: int):
    state = current_state()
    P = state.models.Payment
    since = utcnow() - timedelta(minutes=minutes)
    return state.db.session, P, sa.and_(P.sms_phone == phone, P.created_at >= since)


def sms_sends_refused(phone: str | None) -> str | None:
    """The Japanese refusal when one more SMS to ``phone`` (from this browser) is too many."""
    limit, minutes = config.get("SMS_SEND_LIMIT"), config.get("SMS_SEND_LIMIT_MINUTES")
    message = MSG_TOO_MANY_SMS.format(minutes=minutes)
    if len(_recent(SESSION_SENDS, minutes)) >= limit:
        logger.warning("SMS refused: %s SMS from this browser within %s minutes", limit, minutes)
        return message
    if phone:
        db_session, P, recent = _payments_of(phone, minutes)
        sent = db_session.scalar(sa.select(sa.func.count(P.id)).where(recent)) or 0
        if sent >= limit:
            logger.warning("SMS refused: %s SMS to number ***%s within %s minutes", sent,
                           phone[-4:], minutes)
            return message
    return None


def note_sms_sent() -> None:
    """Count one SMS for this browser (the phone's count is the new payment row)."""
    _note(SESSION_SENDS, config.get("SMS_SEND_LIMIT_MINUTES"), config.get("SMS_SEND_LIMIT"))


def guesses_refused(phone: str | None) -> str | None:
    """The Japanese refusal when this browser or ``phone`` made too many wrong codes lately."""
    limit, minutes = config.get("SMS_CODE_LIMIT"), config.get("SMS_CODE_LIMIT_MINUTES")
    message = MSG_TOO_MANY_GUESSES.format(minutes=minutes)
    if len(_recent(SESSION_GUESSES, minutes)) >= limit:
        logger.warning("SMS code refused: %s wrong codes from this browser", limit)
        return message
    if phone:
        db_session, P, recent = _payments_of(phone, minutes)
        wrong = db_session.scalar(sa.select(sa.func.coalesce(sa.func.sum(P.sms_attempts), 0))
                                  .where(recent)) or 0
        if wrong >= limit:
            logger.warning("SMS code refused: %s wrong codes for number ***%s", wrong, phone[-4:])
            return message
    return None


def note_wrong_guess() -> None:
    _note(SESSION_GUESSES, config.get("SMS_CODE_LIMIT_MINUTES"), config.get("SMS_CODE_LIMIT"))
