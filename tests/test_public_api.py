"""The public API: ``from flask_kuroneko import …`` is locked here. A name removed or renamed
breaks host shops — change this list only together with the changelog."""
from __future__ import annotations

import flask_kuroneko

PUBLIC = [
    "PREFECTURES", "Address", "Adjustment", "ApiConnectionError", "ApiError",
    "AuthenticationError", "CaptureRefused", "ConfigurationError", "EffectiveSettings",
    "InvalidTransition", "Kuroneko", "KuronekoError", "KuronekoState", "MalformedResponseError",
    "MethodOffer", "OperationPending", "OrderCheck", "OrderData", "OrderLine", "OutcomeKind",
    "PaymentKind", "PaymentNotFound", "PaymentOutcome", "PaymentStatus", "RuleViolation",
    "SchemaOutOfDate", "SettingsError", "SmartphoneForm", "SmsOutcome", "SmsOutcomeKind",
    "UnrecognisedSchema", "ValidationError", "current_kuroneko", "current_state",
    "include_object", "signals",
]


def test_all_is_locked():
    assert sorted(flask_kuroneko.__all__) == sorted(PUBLIC)


def test_every_public_name_is_importable():
    for name in PUBLIC:
        assert getattr(flask_kuroneko, name) is not None, name


def test_every_error_is_a_kuroneko_error_with_a_message():
    from flask_kuroneko import errors
    classes = [v for v in vars(errors).values()
               if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) >= 14
    for cls in classes:
        assert issubclass(cls, flask_kuroneko.KuronekoError), cls
    assert flask_kuroneko.ConfigurationError("fix it").message == "fix it"
    assert flask_kuroneko.PaymentNotFound("決済が見つかりません。").message == "決済が見つかりません。"
    assert flask_kuroneko.InvalidTransition("不可", current="declined").message == "不可"


def test_outcome_kinds_compare_as_strings():
    assert flask_kuroneko.OutcomeKind.AUTHORIZED == "authorized"
    assert flask_kuroneko.SmsOutcomeKind("retry") is flask_kuroneko.SmsOutcomeKind.RETRY
