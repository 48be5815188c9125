"""Keeps personal data out of error logs: SQLAlchemy's ``[parameters: …]`` block.

A failed INSERT of an order prints its bound parameters — name, e-mail, phone, address — in
the exception text, and Flask logs that text with the traceback of every unhandled error. The
host should create its engine with ``hide_parameters=True`` (SECURITY.md; the example shop
does); this filter is the second line: on the loggers it is installed on, the parameter block
of a message or a traceback is replaced before any handler formats the record.
"""
from __future__ import annotations

import logging
import re
import traceback

_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.S)
HIDDEN = "[parameters: hidden by flask_kuroneko]"


def scrub(text: str) -> str:
    return _PARAMETERS.sub(HIDDEN, text)


class ParameterScrubFilter(logging.Filter):
    """Scrubs the message and the formatted exception of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # not ours to repair
            return True
        if "[parameters:" in message:
            record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or "".join(
                traceback.format_exception(*record.exc_info)).rstrip("\n")
            if "[parameters:" in text:
                record.exc_text = scrub(text)     # Formatter uses exc_text when it is set
        return True


def install(logger: logging.Logger) -> None:
    """Add the filter to ``logger`` once (records logged on it; children need their own)."""
    if not any(isinstance(f, ParameterScrubFilter) for f in logger.filters):
        logger.addFilter(ParameterScrubFilter())
