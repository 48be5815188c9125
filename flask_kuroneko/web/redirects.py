"""Redirect targets taken from a request (``next=``, ``back=``): same-site paths only.

A browser treats ``//host``, ``/\\host`` and ``/<tab>/host`` (it drops tab, CR and LF from URLs)
as another site, so a target is accepted only when it is a plain absolute path: it starts with
one ``/``, has no scheme or host, no backslash, no whitespace or control character.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .inputs import has_control_characters

MAX_LENGTH = 2000


def safe_path(target: object) -> str | None:
    """``target`` when it is a path on this site, else None (the caller uses its default)."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return None
    if has_control_characters(target, one_line=True) or any(c.isspace() for c in target):
        return None
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
