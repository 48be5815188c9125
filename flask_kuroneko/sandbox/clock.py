"""The simulator clock (spec §6.8): real JST time, or frozen, plus an offset.

Its setting lives in the store so every process sharing a SQLite state sees the same time.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..yamato.timezone import JST

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def real_now() -> datetime:
    return datetime.now(JST)


def as_jst(value: datetime) -> datetime:
    """Naive datetimes are read as JST (Yamato's local time); aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=JST)
    return value.astimezone(JST)


def parse_iso(text: str) -> datetime:
    return as_jst(datetime.fromisoformat(text))


def now_from(setting: dict[str, Any] | None) -> datetime:
    """The simulated now for a stored clock setting ``{"frozen": iso|None, "offset": s}``."""
    setting = setting or {}
    frozen = setting.get("frozen")
    base = parse_iso(frozen) if frozen else real_now()
    return base + timedelta(seconds=float(setting.get("offset", 0)))


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch: an exact, sortable integer for an aware datetime
    (the stores index due times with it)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def frozen_at(moment: datetime) -> dict[str, Any]:
    return {"frozen": as_jst(moment).isoformat(), "offset": 0}


def advanced(setting: dict[str, Any] | None, seconds: float) -> dict[str, Any]:
    setting = dict(setting or {})
    setting["offset"] = float(setting.get("offset", 0)) + float(seconds)
    setting.setdefault("frozen", None)
    return setting


def stamp(moment: datetime) -> str:
    """yyyyMMddHHmmss in JST."""
    return as_jst(moment).strftime("%Y%m%d%H%M%S")


def ymd(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = as_jst(moment).date()
    return moment.strftime("%Y%m%d")


def parse_ymd(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


def parse_stamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S") if len(text) == 14 else None
    except ValueError:
        return None
