"""Customer-facing blueprint ``kuroneko_checkout`` (registered by ``Kuroneko.init_app`` under
KURONEKO_CHECKOUT_URL_PREFIX, default ``/kuroneko``):

* ``GET/POST /sms/<token>`` — the スマホタイプ 4-digit code page (M12)
* ``POST /sms/<token>/resend`` — expired code: a new code under a new 決済ID
* ``POST /sms/<token>/back`` — 「戻る」: the payment becomes 決済不可
* ``POST /notify`` (HTTP Basic authentication) or ``POST /notify/<secret>`` — Yamato's SMS
  result push (authenticated, confirmed by asking Yamato; the path secret masked in access logs)

Every page refuses plain HTTP in production (M14, :mod:`.guard`) and control characters, and is
sent with no-store, CSP and frame protection (``flask_kuroneko.web``); the SMS pages are bound
to the customer's own checkout (:mod:`.binding`) and SMS and wrong codes are limited per phone
number and per browser (:mod:`.limits`). Status changes go through the payments pipeline only.
"""
from __future__ import annotations

from .binding import bind_token, is_bound
from .blueprint import create_blueprint
from .guard import ssl_required

__all__ = ["bind_token", "create_blueprint", "is_bound", "ssl_required"]
