"""flask-kuroneko: Yamato クロネコ代金後払いサービス for Flask."""
from __future__ import annotations

from . import signals
from .checkout_api import MethodOffer, SmartphoneForm
from .errors import (ApiConnectionError, ApiError, AuthenticationError, CaptureRefused,
                     ConfigurationError, InvalidTransition, KuronekoError, MalformedResponseError,
                     OperationPending, PaymentNotFound, ValidationError)
from .extension import Kuroneko, KuronekoState, current_kuroneko, current_state
from .yamato.jptext import PREFECTURES
from .migrations import SchemaOutOfDate, UnrecognisedSchema, include_object
from .models import PaymentKind, PaymentStatus
from .orderdata import Address, Adjustment, OrderData, OrderLine
from .rules import RuleViolation
from .settings import EffectiveSettings, SettingsError

__all__ = [
    "PREFECTURES", "Address", "Adjustment", "ApiConnectionError", "ApiError",
    "AuthenticationError", "CaptureRefused", "ConfigurationError", "EffectiveSettings",
    "InvalidTransition", "Kuroneko", "KuronekoError", "KuronekoState", "MalformedResponseError",
    "MethodOffer", "OperationPending", "OrderData", "OrderLine", "PaymentKind",
    "PaymentNotFound", "PaymentStatus", "RuleViolation", "SchemaOutOfDate", "SettingsError",
    "SmartphoneForm", "UnrecognisedSchema", "ValidationError", "current_kuroneko",
    "current_state", "include_object", "signals",
]
