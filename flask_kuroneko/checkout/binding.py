"""Binds an SMS page to the browser that placed the order.

The checkout token in the URL is a random secret, but URLs leak (history, proxies, shared
screens). The page therefore also requires the token to be listed in the customer's own
session, written when the payment was started in that session. A URL opened anywhere else
gets the same 404 as an unknown token: nobody can open or brute-force someone else's page.
"""
from __future__ import annotations

import hmac

from flask import has_request_context, session

SESSION_KEY = "kuroneko_checkout_tokens"
MAX_TOKENS = 5      # a few concurrent checkouts in one browser; oldest forgotten first


def bind_token(token: str | None) -> None:
    """Remember ``token`` as belonging to the current browser session (no-op outside a
    request, e.g. a payment started from the CLI)."""
    if not token or not has_request_context():
        return
    tokens = [t for t in session.get(SESSION_KEY, []) if isinstance(t, str) and t != token]
    session[SESSION_KEY] = (tokens + [token])[-MAX_TOKENS:]


def is_bound(token: str) -> bool:
    tokens = session.get(SESSION_KEY, [])
    if not isinstance(tokens, list):
        return False
    return any(isinstance(t, str) and hmac.compare_digest(t.encode(), token.encode())
               for t in tokens)


def unbind_token(token: str) -> None:
    tokens = session.get(SESSION_KEY, [])
    if isinstance(tokens, list) and token in tokens:
        session[SESSION_KEY] = [t for t in tokens if t != token]
