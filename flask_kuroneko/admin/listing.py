"""Keyset paging of the admin lists: a page is "the next N ids after this one" in the list's
order, read from the index of its filter — page 1, page 1,000 and the last page cost the same
one query, and no list counts its rows (a COUNT over 100,000 payments on every page view).

Links carry ``after=<id>`` (older/next), ``before=<id>`` (newer/previous) or ``last=1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..web import parse_id


@dataclass
class Page:
    """One page of rows and the cursors of its neighbours (None: there is none)."""
    rows: list[Any] = field(default_factory=list)
    previous: int | None = None      # before=<id> shows the page before this one
    next: int | None = None          # after=<id> shows the page after this one
    is_first: bool = True
    is_last: bool = True


@dataclass(frozen=True)
class Cursor:
    """Where the request asked to be: ``after`` / ``before`` an id, the ``last`` page, or
    the first page (all None/False)."""
    after: int | None = None
    before: int | None = None
    last: bool = False

    @classmethod
    def from_args(cls, args: Any) -> "Cursor":
        """From the query string (strict ids: anything else is the first page)."""
        return cls(after=parse_id(args.get("after")), before=parse_id(args.get("before")),
                   last=args.get("last") == "1")


def page_of(session: Any, query: Any, id_column: Any, cursor: Cursor, *, size: int,
            oldest_first: bool = False) -> Page:
    """The page ``cursor`` points to: ``size`` rows of ``query`` (a select of ORM rows) in id
    order (newest first unless ``oldest_first``), with one query of at most ``size + 1`` rows."""
    forward = id_column.asc() if oldest_first else id_column.desc()
    backward = id_column.desc() if oldest_first else id_column.asc()

    def beyond(value: int) -> Any:       # rows after ``value`` in the list's order
        return id_column > value if oldest_first else id_column < value

    def before(value: int) -> Any:
        return id_column < value if oldest_first else id_column > value

    if cursor.last:
        got = list(session.scalars(query.order_by(backward).limit(size + 1)))
        rows = got[:size][::-1]
        more = len(got) > size
        return Page(rows, previous=rows[0].id if more and rows else None, is_first=not more)
    if cursor.before is not None:
        got = list(session.scalars(query.where(before(cursor.before)).order_by(backward)
                                   .limit(size + 1)))
        if got:
            rows = got[:size][::-1]
            more = len(got) > size
            return Page(rows, previous=rows[0].id if more else None, next=rows[-1].id,
                        is_first=not more, is_last=False)
        cursor = Cursor()                 # nothing newer (a stale link): the first page
    if cursor.after is not None:
        got = list(session.scalars(query.where(beyond(cursor.after)).order_by(forward)
                                   .limit(size + 1)))
        rows = got[:size]
        more = len(got) > size
        return Page(rows, previous=rows[0].id if rows else None,
                    next=rows[-1].id if more else None, is_first=not rows, is_last=not more)
    got = list(session.scalars(query.order_by(forward).limit(size + 1)))
    rows = got[:size]
    more = len(got) > size
    return Page(rows, next=rows[-1].id if more else None, is_last=not more)

