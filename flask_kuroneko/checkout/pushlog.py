"""Masks the SMS push receiver's secret in the access-log lines of this process.

The fallback push URL ``…/notify/<secret>`` carries its secret in the request line, which
access logs write down. A filter on the access loggers we know (Werkzeug's development server,
gunicorn's ``gunicorn.access``) replaces the segment after ``/notify/`` with asterisks. Logs
of a front proxy are outside the app: SECURITY.md says what to set there (or use Basic auth).
"""
from __future__ import annotations

import logging
import re

ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
MASK = "********"


class SecretPathFilter(logging.Filter):
    """Rewrites ``<prefix><secret>`` in a record's message to ``<prefix>********``."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix
        self.pattern = re.compile(re.escape(prefix) + r"[^\s/?\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        if self.prefix in message:
            record.msg, record.args = self.pattern.sub(self.prefix + MASK, message), None
        return True


def install_mask(prefix: str) -> None:
    """Add the filter for ``prefix`` (e.g. ``/kuroneko/notify/``) once per logger."""
    for name in ACCESS_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, SecretPathFilter) and f.prefix == prefix for f in target.filters):
            target.addFilter(SecretPathFilter(prefix))
