"""flask-kuroneko: Yamato クロネコ代金後払いサービス for Flask."""
from __future__ import annotations

from .errors import (ApiConnectionError, ApiError, AuthenticationError, ConfigurationError,
                     InvalidTransition, KuronekoError, MalformedResponseError, ValidationError)
from .orderdata import Address, Adjustment, OrderData, OrderLine

__all__ = [
    "Address", "Adjustment", "ApiConnectionError", "ApiError", "AuthenticationError",
    "ConfigurationError", "InvalidTransition", "KuronekoError", "MalformedResponseError",
    "OrderData", "OrderLine", "ValidationError",
]
