"""Helpers of the admin tests (no tests here): CSRF-aware posting through the test client."""
from __future__ import annotations

import re

PREFIX = "/admin/kuroneko"


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def page(client, path: str, status: int = 200) -> str:
    response = client.get(PREFIX + path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def post(client, form_page: str, action: str, data: dict | None = None, *,
         follow: bool = True):
    """POST ``data`` to ``action`` with the token of ``form_page`` (as a browser would)."""
    token = csrf_token(page(client, form_page))
    fields = dict(data or {})
    fields["csrf_token"] = token
    return client.post(PREFIX + action, data=fields, follow_redirects=follow)


def text(response) -> str:
    return response.get_data(as_text=True)
