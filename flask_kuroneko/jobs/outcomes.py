"""The vocabulary of bulk jobs: job kinds, job and item states, item outcomes, with the
Japanese labels the admin, the CLI and the results CSV show."""
from __future__ import annotations

from enum import Enum
from types import MappingProxyType


class JobKind(str, Enum):
    B2_IMPORT = "b2_import"       # 「B2出荷データ取込」 (M17)
    BULK_SHIP = "bulk_ship"       # 一括「発送済み」 (M18)
    B2_EXPORT = "b2_export"       # the record of a 「B2出荷データ出力」 (nothing to run)

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = MappingProxyType({
    JobKind.B2_IMPORT: "B2出荷データ取込",
    JobKind.BULK_SHIP: "一括発送済み",
    JobKind.B2_EXPORT: "B2出荷データ出力",
})


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return JOB_STATE_LABELS[self]


JOB_STATE_LABELS = MappingProxyType({
    JobState.QUEUED: "待機中", JobState.RUNNING: "実行中", JobState.DONE: "完了",
    JobState.CANCELLED: "中止",
})
#: A job whose items may still be claimed.
ACTIVE_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


class ItemState(str, Enum):
    PENDING = "pending"           # to do (possibly later: next_attempt_at)
    RUNNING = "running"           # claimed by one runner (claimed_by/claimed_until)
    DONE = "done"                 # finished once, with an outcome


class Outcome(str, Enum):
    CAPTURED = "captured"             # 売上確定 by this job
    ALREADY = "already"               # 売上確定済み before (re-import, another job, the admin)
    SKIPPED = "skipped"               # not done, the reason in the message (M18 rules, status …)
    UNKNOWN_ORDER = "unknown_order"   # B2: no order with this お客様管理番号
    INVALID_SLIP = "invalid_slip"     # B2: the row's 伝票番号 is missing or not a valid number
    INVALID_ROW = "invalid_row"       # B2: a row that cannot be read (no key, malformed)
    ERROR = "error"                   # Yamato refused, or the outcome could not be settled
    CANCELLED = "cancelled"           # 中止 before the item ran
    EXPORTED = "exported"             # B2 export record: written to the file
    REJECTED = "rejected"             # B2 export record: left out, the reasons in the message

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = MappingProxyType({
    Outcome.CAPTURED: "売上確定",
    Outcome.ALREADY: "売上確定済み",
    Outcome.SKIPPED: "対象外",
    Outcome.UNKNOWN_ORDER: "該当注文なし",
    Outcome.INVALID_SLIP: "送り状番号エラー",
    Outcome.INVALID_ROW: "取込できない行",
    Outcome.ERROR: "エラー",
    Outcome.CANCELLED: "中止",
    Outcome.EXPORTED: "出力",
    Outcome.REJECTED: "出力不可",
})

#: The admin's result filters: 売上確定 / skipped with the reason / errors.
FILTERS = MappingProxyType({
    "captured": ("売上確定", (Outcome.CAPTURED.value, Outcome.EXPORTED.value)),
    "skipped": ("対象外・登録済み（理由つき）", (
        Outcome.ALREADY.value, Outcome.SKIPPED.value, Outcome.UNKNOWN_ORDER.value,
        Outcome.INVALID_SLIP.value, Outcome.INVALID_ROW.value, Outcome.CANCELLED.value,
        Outcome.REJECTED.value)),
    "error": ("ヤマトのエラー・確認できなかったもの", (Outcome.ERROR.value,)),
})
#: Outcomes 「失敗分を再実行」 runs again (and that make the CLI exit non-zero).
FAILED = (Outcome.ERROR.value,)


def outcome_label(value: str | None) -> str:
    try:
        return Outcome(value).label
    except ValueError:
        return ""


def state_label(value: str | None) -> str:
    try:
        return JobState(value).label
    except ValueError:
        return value or ""


def kind_label(value: str | None) -> str:
    try:
        return JobKind(value).label
    except ValueError:
        return value or ""
