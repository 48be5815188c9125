"""What ``authorize`` and ``verify_sms`` return: outcomes, not exceptions (a decline or 審査中
is a normal answer). Hosts compare ``outcome.kind`` with the enums (they are ``str`` enums, so
``outcome.kind == "authorized"`` keeps working)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class OutcomeKind(str, Enum):
    """Result of ``start_payment`` / ``authorize``."""
    AUTHORIZED = "authorized"        # 与信: show the completion page
    UNDER_REVIEW = "under_review"    # 審査中: the decision comes later (payment_authorized/declined)
    REDIRECT = "redirect"            # スマホタイプ: send the customer to ``redirect_url`` (SMS page)
    PENDING = "pending"              # Yamato's answer is not known yet; settled by the sweep
    DECLINED = "declined"            # 決済不可: show ``message``, offer another payment method


class SmsOutcomeKind(str, Enum):
    """Result of ``verify_sms``."""
    AUTHORIZED = "authorized"        # the code was right: 与信
    RETRY = "retry"                  # wrong or malformed code: ``attempts_left`` remain
    EXPIRED = "expired"              # the code expired: offer 「再送信」
    PENDING = "pending"              # Yamato's answer was lost; settled from Yamato's status
    DECLINED = "declined"            # 決済不可 (too many attempts, window over, refused)


@dataclass
class PaymentOutcome:
    kind: OutcomeKind
    payment: Any
    redirect_url: str | None = None
    message: str | None = None


@dataclass
class SmsOutcome:
    kind: SmsOutcomeKind
    payment: Any
    attempts_left: int | None = None
    message: str | None = None
