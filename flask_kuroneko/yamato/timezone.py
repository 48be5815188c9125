"""Japan Standard Time: the clock of Yamato's API (dates and date-times without a zone are JST).

One constant for the whole package, so the client's ``requestDate``, the sandbox clock and the
admin's dates agree. ``Asia/Tokyo`` from the tz database when it is installed; otherwise the
fixed +09:00 offset, which is the same thing since Japan has had no daylight saving time since
1951 (Windows without the ``tzdata`` package has no tz database).
"""
from __future__ import annotations

import logging
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

__all__ = ["JST"]

JST: tzinfo
try:
    JST = ZoneInfo("Asia/Tokyo")
except ZoneInfoNotFoundError:
    JST = timezone(timedelta(hours=9), "JST")
