"""flask-kuroneko: Yamato クロネコ代金後払いサービス for Flask."""
from __future__ import annotations

from . import signals
from .checkout_api import MethodOffer, SmartphoneForm
from .errors import (ApiConnectionError, ApiError, AuthenticationError, CaptureRefused,
                     ConfigurationError, InvalidTransition, KuronekoError, MalformedResponseError,
                     OperationPending, PaymentNotFound, ValidationError)
from .extension import Kuroneko, current_kuroneko
from .runtime import KuronekoState
from .state import current_state
from .yamato.jptext import PREFECTURES
from .models import PaymentKind, PaymentStatus
from .orderdata import Address, Adjustment, OrderData, OrderLine
from .rules import RuleViolation
from .settings import EffectiveSettings, SettingsError

__all__ = [
    "PREFECTURES", "Address", "Adjustment", "ApiConnectionError", "ApiError",
    "AuthenticationError", "CaptureRefused", "ConfigurationError", "EffectiveSettings",
    "InvalidTransition", "Kuroneko", "KuronekoError", "KuronekoState", "MalformedResponseError",
    "MethodOffer", "OperationPending", "OrderData", "OrderLine", "PaymentKind",
    "PaymentNotFound", "PaymentStatus", "RuleViolation", "SettingsError", "SmartphoneForm",
    "ValidationError", "current_kuroneko", "current_state", "signals",
]
