"""flask-kuroneko: Yamato クロネコ代金後払いサービス for Flask."""
from __future__ import annotations

#: The one version string (setup.cfg reads it; CHANGELOG.md names it).
__version__ = "0.2.0"

from . import signals
from .checkout_api import MethodOffer, OrderCheck, SmartphoneForm
from .errors import (ApiConnectionError, ApiError, AuthenticationError, CaptureRefused,
                     ConfigurationError, InvalidTransition, KuronekoError, MalformedResponseError,
                     OperationPending, PaymentNotFound, RuleViolation, SettingsError,
                     ValidationError)
from .extension import Kuroneko, current_kuroneko
from .runtime import KuronekoState
from .state import current_state
from .yamato.jptext import PREFECTURES
from .migrations import SchemaOutOfDate, UnrecognisedSchema, include_object
from .models import PaymentKind, PaymentStatus
from .orderdata import Address, Adjustment, OrderData, OrderLine
from .payments.outcomes import OutcomeKind, PaymentOutcome, SmsOutcome, SmsOutcomeKind
from .settings import EffectiveSettings

__all__ = [
    "PREFECTURES", "Address", "Adjustment", "ApiConnectionError", "ApiError",
    "AuthenticationError", "CaptureRefused", "ConfigurationError", "EffectiveSettings",
    "InvalidTransition", "Kuroneko", "KuronekoError", "KuronekoState", "MalformedResponseError",
    "MethodOffer", "OperationPending", "OrderCheck", "OrderData", "OrderLine", "OutcomeKind",
    "PaymentKind", "PaymentNotFound", "PaymentOutcome", "PaymentStatus", "RuleViolation",
    "SchemaOutOfDate", "SettingsError", "SmartphoneForm", "SmsOutcome", "SmsOutcomeKind",
    "UnrecognisedSchema", "ValidationError", "current_kuroneko", "current_state",
    "include_object", "signals",
]
