"""B2クラウド CSV: 「B2出荷データ出力」 (export) and 「B2出荷データ取込」 (import of issued data).

Pure — bytes in, rows out; no Flask, no database, no HTTP. The job layer fills the records
from orders and settings, and acts on the results. See docs/b2.md.

Export::

    result = build_export(shipments, ExportSettings(shipper, billing), today=jst_today)
    result.data, result.warnings, result.rejected

Import::

    issued = parse_issued(upload_stream)            # FileRefused for an unusable file
    outcome = match(issued, lookup)                 # per-order slips, unknown keys, problems
"""
from __future__ import annotations

from .errors import B2Error, FileRefused, SettingsInvalid, SettingsProblem
from .export import build_export, header_row, settings_problems, summarize_items
from .issued import (DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, IssuedFile, IssuedRow, RowKind,
                     parse_issued, read_limited)
from .layout import Cool, SlipType, TimeSlot
from .matching import MatchResult, OrderSlips, SharedSlip, UnknownKey, match
from .records import (BillingAccount, ExportResult, ExportSettings, ExportWarning, Recipient,
                      RejectedRow, Shipment, Shipper)

__all__ = [
    "B2Error", "FileRefused", "SettingsInvalid", "SettingsProblem",
    "build_export", "header_row", "settings_problems", "summarize_items",
    "DEFAULT_MAX_BYTES", "DEFAULT_MAX_ROWS", "IssuedFile", "IssuedRow", "RowKind",
    "parse_issued", "read_limited",
    "Cool", "SlipType", "TimeSlot",
    "MatchResult", "OrderSlips", "SharedSlip", "UnknownKey", "match",
    "BillingAccount", "ExportResult", "ExportSettings", "ExportWarning", "Recipient",
    "RejectedRow", "Shipment", "Shipper",
]
