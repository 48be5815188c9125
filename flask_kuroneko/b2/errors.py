"""Errors of the B2 package: a whole file refused, or export settings that cannot be used.

Problems with single rows are not exceptions: they are results (``RejectedRow`` on export,
an ``IssuedRow`` with a non-OK kind on import), so one bad row never costs the others.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import KuronekoError


class B2Error(KuronekoError):
    """Base class of the B2 package's errors."""


class FileRefused(B2Error):
    """An uploaded file refused as a whole; nothing of it was used.

    ``code`` is stable (``empty``, ``too_large``, ``binary``, ``encoding``, ``columns``,
    ``too_many_rows``, ``csv_syntax``, ``header``, ``no_key``, ``no_tracking``,
    ``spreadsheet``); ``message`` is a Japanese
    sentence for the merchant that names the fix.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SettingsProblem:
    field: str                  # the ExportSettings path, e.g. "shipper.phone"
    message: str                # Japanese


class SettingsInvalid(B2Error):
    """The export settings (ご依頼主, ご請求先) cannot produce a valid file; every problem is
    listed so the settings form can show them all at once."""

    def __init__(self, problems: list[SettingsProblem]):
        super().__init__(" ".join(p.message for p in problems))
        self.problems = tuple(problems)
