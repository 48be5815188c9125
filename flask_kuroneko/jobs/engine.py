"""Running a job's items: claim, run with bounded concurrency, record the outcome.

``run_job`` keeps up to KURONEKO_BULK_CONCURRENCY items in flight on a thread pool: it claims
a batch (``store.claim``: one conditional UPDATE for up to that many items) into a backlog the
threads drain, and takes over items of runners that died (``store.stale_items``/``reclaim``). Each item runs in a thread of its own
with its own app context — hence its own ``db.session`` and connection — through the kind's
handler, which goes through the payments pipeline like any single operation. Several runners
(threads, worker processes, Celery workers, machines) can work on one job at once: an item is
claimed by one of them, and the pipeline refuses a second capture of a payment anyway.

Results are recorded by the runner's own thread in batches (one transaction for up to
``concurrency`` items, at most FLUSH_SECONDS after they finished): the item's capture has
committed on its own already, so a runner that dies before recording leaves items that the
next runner finds captured and records the same way.

A runner stops claiming at its deadline, when told to stop, or after ``max_items`` (a Celery
chunk), lets the items in flight finish and gives the unstarted backlog back. Items that cannot
be decided yet (an outcome being confirmed with Yamato) are given back with a delay; after
MAX_ATTEMPTS claims an item is closed as an error the merchant can retry (「失敗分を再実行」).

SQLite: one process only (threads are fine); see docs/jobs.md.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Tuple

from flask import current_app

from .. import config
from ..errors import JobNotFound
from ..models import utcnow
from ..state import current_state
from . import b2_import, bulk_ship, store
from .capture import RETRY_DELAYS, RetryLater, retry_delay
from .outcomes import ItemState, JobKind, Outcome
from .store import ItemResult, Postponed

logger = logging.getLogger(__name__)

Handler = Callable[[Any, str], ItemResult]
HANDLERS: dict[str, Handler] = {
    JobKind.B2_IMPORT.value: b2_import.run_item,
    JobKind.BULK_SHIP.value: bulk_ship.run_item,
}
#: Claims of one item before it is closed as an error (crashes and "still confirming" alike).
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: Longest wait of a runner that waits for an item's next attempt (until_finished), and how
#: often it looks while other runners hold the rest of the job.
MAX_IDLE_WAIT = 30.0
OTHERS_POLL = 1.0
#: Finished items are recorded in batches: at most this long after they finished.
FLUSH_SECONDS = 0.5


@dataclass
class RunReport:
    """What one run of a runner did."""
    processed: int
    finished: bool                  # nothing of the job is left to run
    next_due: datetime | None       # when something can be claimed next (not finished)


Result = Tuple[int, str, "ItemResult | Postponed"]


def run_item(app: Any, handler: Handler, item_id: int, token: str) -> Result | None:
    """One claimed item, in this thread's own app context (own session and connection).
    Returns (item id, claim token, its result or Postponed) for the runner to record in a
    batch, or None when the claim was lost before the item started."""
    with app.app_context(), current_state().holding_settings():
        session = current_state().db.session
        item = store.load_item(item_id)
        if item is None or item.claimed_by != token or item.state != ItemState.RUNNING.value:
            session.rollback()
            return None
        attempts = item.attempts
        try:
            if attempts > MAX_ATTEMPTS:
                result: ItemResult | Postponed = ItemResult(
                    Outcome.ERROR, "この注文の処理が繰り返し中断されました。決済の状況を確認してから"
                                   "「失敗分を再実行」してください。", code="interrupted")
            else:
                result = handler(item, token)
        except RetryLater as exc:
            if attempts >= MAX_ATTEMPTS:
                result = ItemResult(
                    Outcome.ERROR, f"{exc.message}（{attempts}回確認しても確定できませんでした。"
                                   "決済一覧で状況を確認してから「失敗分を再実行」してください）",
                    code="unresolved")
            else:
                result = Postponed(retry_delay(attempts), exc.message)
        except Exception as exc:          # one item never stops the job
            logger.exception("kuroneko job item %s failed", item_id)
            result = ItemResult(Outcome.ERROR, f"内部エラー（{type(exc).__name__}）が発生しました。"
                                               "ログを確認してください。", code="internal")
        session.rollback()                # nothing of the handler's work stays open
        return item_id, token, result


class _Run:
    """The state of one ``run_job`` call (kept out of its signature). Items are claimed a
    batch at a time (one UPDATE for up to ``concurrency`` items) into a backlog the pool
    drains as threads free up."""

    def __init__(self, job_id: int, concurrency: int, deadline: float | None,
                 stop: threading.Event | None, max_items: int | None):
        self.job_id, self.concurrency = job_id, concurrency
        self.deadline, self.stop, self.max_items = deadline, stop, max_items
        self.processed = 0
        self.in_flight: dict[Future, int] = {}
        self.backlog: deque[tuple[int, str]] = deque()
        self.marked_running = False
        self.results: list[Result] = []
        self.flushed_at = time.monotonic()

    def flush_due(self) -> bool:
        return bool(self.results) and time.monotonic() - self.flushed_at >= FLUSH_SECONDS

    def flush(self, on_progress: Callable[[], None] | None) -> None:
        """Record the finished items in one transaction (then report progress)."""
        self.flushed_at = time.monotonic()
        if not self.results:
            return
        store.record(self.results)
        self.results = []
        if on_progress is not None:
            on_progress()

    def stopping(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline

    def claim_room(self) -> int:
        """How many items to claim now (0: not now)."""
        if self.backlog or self.stopping():
            return 0
        room = self.concurrency
        if self.max_items is not None:
            room = min(room, self.max_items - self.processed - len(self.in_flight))
        return max(room, 0)

    def all_claimed(self) -> bool:
        """``max_items`` reached: nothing more will be claimed by this run."""
        return (self.max_items is not None
                and self.processed + len(self.in_flight) + len(self.backlog) >= self.max_items)

    def idle_wait(self) -> None:
        """Nothing claimable now: wait for the next item due later (bounded), or look again
        soon while another runner holds items (it may finish or die)."""
        due = store.next_due(self.job_id, pending_only=True)
        seconds = MAX_IDLE_WAIT if due is None else (due - utcnow()).total_seconds()
        if store.held_elsewhere(self.job_id):
            seconds = min(seconds, OTHERS_POLL)
        seconds = min(max(seconds, 0.2), MAX_IDLE_WAIT)
        if self.deadline is not None:
            seconds = min(seconds, max(self.deadline - time.monotonic(), 0))
        if self.stop is not None:
            self.stop.wait(seconds)
        else:
            time.sleep(seconds)


def claim_items(job_id: int, wanted: int) -> list[tuple[int, str]]:
    """Up to ``wanted`` items for this runner: due pending ones, then dead runners' ones."""
    token, ids = store.claim(job_id, wanted)
    claimed = [(item_id, token) for item_id in ids]
    if len(claimed) < wanted:
        stale = store.stale_items(job_id)
        if stale:
            token, ids = store.reclaim(stale[:wanted - len(claimed)])
            claimed += [(item_id, token) for item_id in ids]
    return claimed


def run_job(job_id: int, *, concurrency: int | None = None, deadline: float | None = None,
            stop: threading.Event | None = None, max_items: int | None = None,
            until_finished: bool = False,
            on_progress: Callable[[], None] | None = None,
            on_last_claim: Callable[[], None] | None = None) -> RunReport:
    """Run the job's items until nothing is claimable (``until_finished``: until nothing is
    left, waiting for items due later), the ``deadline`` (``time.monotonic()``), ``stop``, or
    ``max_items`` items. ``on_progress`` is called in this thread after each item;
    ``on_last_claim`` once, when ``max_items`` are claimed (a Celery chunk queues the next one
    then, so the next chunk starts while this one finishes its last items)."""
    job = store.get_job(job_id)
    if job is None:
        raise JobNotFound(f"ジョブ（ID {job_id}）が見つかりません。")
    handler = HANDLERS.get(job.kind)
    if handler is None:              # a record (B2 export): nothing to run
        store.finalize(job_id)
        return RunReport(0, True, None)
    app = current_app._get_current_object()
    run = _Run(job_id, concurrency or config.get("BULK_CONCURRENCY"), deadline, stop, max_items)
    session = current_state().db.session
    session.rollback()
    with ThreadPoolExecutor(max_workers=run.concurrency,
                            thread_name_prefix=f"kuroneko-job{job_id}") as pool:
        while True:
            room = run.claim_room()
            if room:
                run.backlog.extend(claim_items(job_id, room))
                if run.backlog and not run.marked_running:
                    store.mark_running(job_id)
                    run.marked_running = True
            if on_last_claim is not None and run.all_claimed():
                on_last_claim()
                on_last_claim = None
            while run.backlog and len(run.in_flight) < run.concurrency and not run.stopping():
                item_id, token = run.backlog.popleft()
                run.in_flight[pool.submit(run_item, app, handler, item_id, token)] = item_id
            if not run.in_flight:
                run.flush(on_progress)
                if run.backlog and not run.stopping():
                    continue
                if until_finished and not run.stopping() and run.claim_room() \
                        and store.unfinished(job_id):
                    run.idle_wait()
                    continue
                break
            done, _ = wait(list(run.in_flight), timeout=FLUSH_SECONDS,
                           return_when=FIRST_COMPLETED)
            for future in done:
                run.in_flight.pop(future)
                run.processed += 1
                if future.exception() is not None:     # the item stays claimed: retried
                    logger.error("kuroneko job %s: item runner failed: %r", job_id,
                                 future.exception())
                elif future.result() is not None:
                    run.results.append(future.result())
            if len(run.results) >= run.concurrency or run.flush_due():
                run.flush(on_progress)
    run.flush(on_progress)
    if run.backlog:                     # claimed but not started: back to the job
        store.release(list(run.backlog))
    finished = store.finalize(job_id)
    logger.info("kuroneko job %s: %d items run here, %s", job_id, run.processed,
                "finished" if finished else "not finished")
    return RunReport(run.processed, finished, None if finished else store.next_due(job_id))
