"""Japan time, the clock every date Yamato sees is read in (受注日, 出荷予定日, 処理日時).

Fixed +09:00 (Japan has no daylight saving time), so it needs no tz database on the host.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def now_jst() -> datetime:
    """The current time in Japan (aware)."""
    return datetime.now(JST)
