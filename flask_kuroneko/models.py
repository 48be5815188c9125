"""Tables of the extension (prefix ``kuroneko_``), on the extension's OWN ``MetaData``.

Why not the host's ``db.Model`` (a change of the boundary DESIGN.md drew): on the host's
metadata our tables were created by the host's ``db.create_all()`` and written into the
host's Flask-Migrate history, so an upgrade of flask-kuroneko could not change its own tables
safely (create_all adds new tables behind the migrations' back and never alters old ones; the
host's autogenerate would write our schema changes into *its* history). Now:

* the tables live on :data:`metadata` and are created and changed only by the migrations
  shipped in :mod:`flask_kuroneko.migrations` (``flask kuroneko db upgrade``), which keep
  their own version table; ``db.create_all()`` does not see them;
* the classes are still used through the host's ``db.session`` (Flask-SQLAlchemy picks the
  engine from ``metadata.info["bind_key"]``; there is none, so the default engine), so a
  payment and the host's order still commit in one transaction;
* every constraint and index has a stable name (:data:`NAMING_CONVENTION`, our own: a host's
  convention on its ``db.metadata`` no longer renames ours), the same on SQLite, PostgreSQL
  and MariaDB, so a migration can name what it changes.

The classes are defined once per process; ``define_models(db)`` is kept for the callers that
reach them through the per-app state. Status changes go through the payments pipeline only.
"""
from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


def utcnow() -> datetime:
    """Naive UTC timestamps: portable across SQLite, PostgreSQL and MariaDB."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class PaymentKind(str, Enum):
    INVOICE = "invoice"          # 後払い払込票タイプ
    SMARTPHONE = "smartphone"    # 後払いスマホタイプ

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    PaymentKind.INVOICE: "後払い払込票タイプ（クロネコ代金後払いサービス）",
    PaymentKind.SMARTPHONE: "後払いスマホタイプ（クロネコ代金後払いサービス）",
}


class PaymentStatus(str, Enum):
    """The one status vocabulary (DESIGN.md "Payment lifecycle")."""
    PENDING = "pending"
    AWAITING_SMS = "awaiting_sms"
    UNDER_REVIEW = "under_review"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    PaymentStatus.PENDING: "決済処理中",
    PaymentStatus.AWAITING_SMS: "審査中",
    PaymentStatus.UNDER_REVIEW: "審査中",
    PaymentStatus.AUTHORIZED: "与信",
    PaymentStatus.DECLINED: "決済不可",
    PaymentStatus.CAPTURED: "売上確定",
    PaymentStatus.CANCELLED: "取消済み",
}

_STATUS_LEN = 20

#: Constraint and index names of every kuroneko table. Names must stay within 63 characters
#: (PostgreSQL's limit; SQLAlchemy would otherwise shorten them differently per database),
#: which tests/test_migrations.py checks. ``ck`` needs an explicit ``name=`` on the constraint.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

#: The kuroneko tables, and only those (``flask kuroneko db upgrade`` creates them).
metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


def define_models(db: Any = None) -> SimpleNamespace:
    """The model classes, defined once per process on :class:`Base` (``db`` is not needed:
    the classes reach an engine only through the session that loads them)."""
    cached = _defined.get("models")
    if cached is not None:
        return cached
    Model = Base

    class Settings(Model):
        """M1–M7 plus the extension's own switches; one row (id=1). ``app.config`` may
        override and lock any field (see config.SETTINGS_OVERRIDES)."""
        __tablename__ = "kuroneko_settings"
        id = sa.Column(sa.Integer, primary_key=True)
        merchant_code = sa.Column(sa.String(11), nullable=False, default="")
        password = sa.Column(sa.String(255), nullable=False, default="")   # encrypted (secretbox)
        environment = sa.Column(sa.String(16), nullable=False, default="sandbox")  # as FRESH_DEFAULTS
        yamato_delivery_method_ids = sa.Column(sa.JSON, nullable=False, default=list)
        other_carrier_enabled = sa.Column(sa.Boolean, nullable=False, default=False)
        smartphone_enabled = sa.Column(sa.Boolean, nullable=False, default=False)
        ship_within_days = sa.Column(sa.Integer, nullable=False, default=10)
        fee_mode = sa.Column(sa.String(8), nullable=False, default="fixed")   # fixed | tiered
        fee_fixed = sa.Column(sa.Integer, nullable=True)                      # None = no fee
        fee_tiers = sa.Column(sa.JSON, nullable=False, default=list)          # [[up_to, fee], ...]
        credit_limit = sa.Column(sa.Integer, nullable=False, default=55000)
        cancel_with_order = sa.Column(sa.Boolean, nullable=False, default=False)
        change_amount_with_order = sa.Column(sa.Boolean, nullable=False, default=False)
        prepayment_log_enabled = sa.Column(sa.Boolean, nullable=False, default=True)
        conversion_tag = sa.Column(sa.Text, nullable=False, default="")
        conversion_on_review = sa.Column(sa.Boolean, nullable=False, default=False)
        # B2クラウド (M17): ご依頼主, ご請求先 and the file layout (see docs/b2.md). Server
        # defaults: the columns were added to existing settings rows (revision 0006).
        b2_shipper_name = sa.Column(sa.String(64), nullable=False, default="", server_default="")
        b2_shipper_name_kana = sa.Column(sa.String(64), nullable=False, default="",
                                         server_default="")
        b2_shipper_phone = sa.Column(sa.String(20), nullable=False, default="", server_default="")
        b2_shipper_postal_code = sa.Column(sa.String(10), nullable=False, default="",
                                           server_default="")
        b2_shipper_address = sa.Column(sa.String(128), nullable=False, default="",
                                       server_default="")
        b2_shipper_building = sa.Column(sa.String(64), nullable=False, default="",
                                        server_default="")
        b2_billing_customer_code = sa.Column(sa.String(12), nullable=False, default="",
                                             server_default="")
        b2_billing_class_code = sa.Column(sa.String(3), nullable=False, default="",
                                          server_default="")
        b2_freight_no = sa.Column(sa.String(2), nullable=False, default="01", server_default="01")
        # delivery method id -> 送り状種類 / クール区分 (NULL and {} = none set)
        b2_slip_types = sa.Column(sa.JSON, nullable=True, default=dict)
        b2_cool_methods = sa.Column(sa.JSON, nullable=True, default=dict)
        b2_header_row = sa.Column(sa.Boolean, nullable=False, default=True,
                                  server_default=sa.true())
        b2_columns = sa.Column(sa.Integer, nullable=False, default=97, server_default="97")
        b2_notice_mail = sa.Column(sa.Boolean, nullable=False, default=False,
                                   server_default=sa.false())
        updated_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
        version = sa.Column(sa.Integer, nullable=False, default=1)
        __mapper_args__ = {"version_id_col": version}

        def __repr__(self) -> str:  # never show the password
            return f"<kuroneko Settings merchant={self.merchant_code!r} env={self.environment!r}>"

    class PaymentMethod(Model):
        """M8–M9: at most one method per kind; ``sort_order`` = checkout order."""
        __tablename__ = "kuroneko_payment_methods"
        id = sa.Column(sa.Integer, primary_key=True)
        kind = sa.Column(sa.String(16), nullable=False, unique=True)
        name = sa.Column(sa.String(100), nullable=False)
        description_html = sa.Column(sa.Text, nullable=False, default="")
        active = sa.Column(sa.Boolean, nullable=False, default=True)
        sort_order = sa.Column(sa.Integer, nullable=False, default=0)
        created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    class Payment(Model):
        """One row per authorization attempt. ``order_no`` is the リンクキー / 決済ID sent to
        Yamato as orderNo: 10 random digits, unique."""
        __tablename__ = "kuroneko_payments"
        id = sa.Column(sa.Integer, primary_key=True)
        order_no = sa.Column(sa.String(20), nullable=False, unique=True)
        host_order_id = sa.Column(sa.String(64), nullable=False, index=True)
        method_id = sa.Column(sa.Integer, sa.ForeignKey("kuroneko_payment_methods.id"), nullable=True)
        kind = sa.Column(sa.String(16), nullable=False)
        status = sa.Column(sa.String(_STATUS_LEN), nullable=False, default=PaymentStatus.PENDING.value)
        amount = sa.Column(sa.Integer, nullable=False)             # Yamato's current billed total
        initial_amount = sa.Column(sa.Integer, nullable=False)     # amount at authorization
        fee = sa.Column(sa.Integer, nullable=False, default=0)     # 後払い手数料 inside amount
        order_date = sa.Column(sa.Date, nullable=False)
        ship_date = sa.Column(sa.Date, nullable=False)             # 出荷予定日 sent to Yamato
        carrier = sa.Column(sa.String(40), nullable=True)
        tracking_no = sa.Column(sa.String(20), nullable=True)      # registered 送り状番号
        process_div = sa.Column(sa.Integer, nullable=True)         # 0 Yamato / 2 other carrier
        capture_note = sa.Column(sa.Text, nullable=True)           # why 売上確定 did not happen
        sms_phone = sa.Column(sa.String(16), nullable=True)
        sms_sent_at = sa.Column(sa.DateTime, nullable=True)
        sms_attempts = sa.Column(sa.Integer, nullable=False, default=0)
        checkout_token = sa.Column(sa.String(64), nullable=True, unique=True)  # binds the SMS page
        yamato_status = sa.Column(sa.Integer, nullable=True)       # last KAAST0010 result
        yamato_status_at = sa.Column(sa.DateTime, nullable=True)   # when we learned it changed
        yamato_warning = sa.Column(sa.Integer, nullable=True)
        yamato_warning_at = sa.Column(sa.DateTime, nullable=True)
        synced_at = sa.Column(sa.DateTime, nullable=True)
        # M25 差異: the shop (payment or host order) and Yamato disagree (payments/drift.py).
        drift = sa.Column(sa.Text, nullable=True)                  # what disagrees (Japanese)
        drift_kind = sa.Column(sa.String(24), nullable=True)       # drift.KINDS
        drift_at = sa.Column(sa.DateTime, nullable=True)
        drift_acknowledged_at = sa.Column(sa.DateTime, nullable=True)   # 「確認済み」
        drift_acknowledged_by = sa.Column(sa.String(64), nullable=True)
        conversion_shown_at = sa.Column(sa.DateTime, nullable=True)  # M13: tag rendered once
        replaces_id = sa.Column(sa.Integer, sa.ForeignKey("kuroneko_payments.id"), nullable=True)
        # Name of the journaled Operation not settled yet (None = none). Kept on the row the
        # pipeline locks, so the "busy" check sees the latest value on every database (a plain
        # SELECT of kuroneko_operations may read an old snapshot under REPEATABLE READ).
        open_operation = sa.Column(sa.String(24), nullable=True)
        authorized_at = sa.Column(sa.DateTime, nullable=True)
        captured_at = sa.Column(sa.DateTime, nullable=True)
        cancelled_at = sa.Column(sa.DateTime, nullable=True)
        created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
        updated_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
        # The admin's 決済一覧 pages by id (keyset) within each filter.
        __table_args__ = (
            sa.Index("ix_kuroneko_payments_status_id", "status", "id"),
            # the 与信 near Yamato's 90-day shipment limit (notice count, list filter)
            sa.Index("ix_kuroneko_payments_status_created_at", "status", "created_at"),
            sa.Index("ix_kuroneko_payments_kind_id", "kind", "id"),
            sa.Index("ix_kuroneko_payments_yamato_status_id", "yamato_status", "id"),
            sa.Index("ix_kuroneko_payments_drift_kind", "drift_kind"),
        )

        @property
        def status_enum(self) -> PaymentStatus:
            return PaymentStatus(self.status)

        @property
        def status_label(self) -> str:
            return self.status_enum.label

        @property
        def kind_enum(self) -> PaymentKind:
            return PaymentKind(self.kind)

        def __repr__(self) -> str:
            return f"<kuroneko Payment {self.order_no} {self.status} {self.amount}>"

    class PaymentHistory(Model):
        """What we did (M21 history): 決済ID, 処理区分, 処理日時, amount, outcome."""
        __tablename__ = "kuroneko_payment_history"
        id = sa.Column(sa.Integer, primary_key=True)
        payment_id = sa.Column(sa.Integer, sa.ForeignKey("kuroneko_payments.id"), nullable=False,
                               index=True)
        order_no = sa.Column(sa.String(20), nullable=False)
        operation = sa.Column(sa.String(40), nullable=False)       # 処理区分 label, e.g. 取消
        occurred_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
        amount = sa.Column(sa.Integer, nullable=True)
        result = sa.Column(sa.String(40), nullable=False)          # OK / NG / error code / 不明
        detail = sa.Column(sa.Text, nullable=True)
        actor = sa.Column(sa.String(64), nullable=True)            # admin user, "customer", "sweep"

    class ErrorLog(Model):
        """M22 決済エラーログ. Never holds the password; personal data only as needed."""
        __tablename__ = "kuroneko_error_log"
        id = sa.Column(sa.Integer, primary_key=True)
        created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
        order_no = sa.Column(sa.String(20), nullable=True, index=True)   # リンクキー
        kind = sa.Column(sa.String(16), nullable=True)                   # 決済種別
        operation = sa.Column(sa.String(16), nullable=True)              # KAARA0010 …
        code = sa.Column(sa.String(16), nullable=True)
        message = sa.Column(sa.Text, nullable=False)                     # ステータス
        detail = sa.Column(sa.JSON, nullable=True)                       # 詳細 (redacted)

    class PrepaymentLog(Model):
        """M23 決済直前ログ: written and committed in its own session BEFORE KAARA0010."""
        __tablename__ = "kuroneko_prepayment_log"
        id = sa.Column(sa.Integer, primary_key=True)
        created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
        order_no = sa.Column(sa.String(20), nullable=False, index=True)  # リンクキー
        host_order_id = sa.Column(sa.String(64), nullable=True)
        kind = sa.Column(sa.String(16), nullable=False)
        amount = sa.Column(sa.Integer, nullable=False)
        snapshot = sa.Column(sa.JSON, nullable=False)                    # OrderData as JSON
        restored_order_id = sa.Column(sa.String(64), nullable=True)
        restored_at = sa.Column(sa.DateTime, nullable=True)

    class Operation(Model):
        """Journal of Yamato calls whose outcome must be resolved (timeout) or that are queued
        for a safe retry. Claimed by one worker at a time (claimed_by/claimed_until)."""
        __tablename__ = "kuroneko_operations"
        id = sa.Column(sa.Integer, primary_key=True)
        payment_id = sa.Column(sa.Integer, sa.ForeignKey("kuroneko_payments.id"), nullable=False,
                               index=True)
        operation = sa.Column(sa.String(24), nullable=False)       # service operation name
        params = sa.Column(sa.JSON, nullable=False, default=dict)
        state = sa.Column(sa.String(12), nullable=False, default="unknown", index=True)
        # unknown: sent, answer lost; queued: not sent yet, retry is safe; done; failed
        attempts = sa.Column(sa.Integer, nullable=False, default=0)
        next_attempt_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
        claimed_by = sa.Column(sa.String(64), nullable=True)
        claimed_until = sa.Column(sa.DateTime, nullable=True)
        last_error = sa.Column(sa.Text, nullable=True)
        created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
        resolved_at = sa.Column(sa.DateTime, nullable=True)

    class Job(Model):
        """A bulk job (B2 import, bulk 発送済み, the record of a B2 export): who started it, when,
        its state; the work is in its items. See ``flask_kuroneko/jobs``."""
        __tablename__ = "kuroneko_jobs"
        id = sa.Column(sa.Integer, primary_key=True)
        kind = sa.Column(sa.String(24), nullable=False)
        state = sa.Column(sa.String(12), nullable=False, default="queued", index=True)
        runner = sa.Column(sa.String(12), nullable=False, default="worker")   # worker | celery
        created_by = sa.Column(sa.String(64), nullable=True)
        created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
        started_at = sa.Column(sa.DateTime, nullable=True)
        finished_at = sa.Column(sa.DateTime, nullable=True)
        cancelled_by = sa.Column(sa.String(64), nullable=True)
        dispatched_at = sa.Column(sa.DateTime, nullable=True)   # last hand-over to Celery
        total = sa.Column(sa.Integer, nullable=False, default=0)
        params = sa.Column(sa.JSON, nullable=False, default=dict)   # file name, sha256, notes

    class JobItem(Model):
        """One order of a job: claimed by one runner at a time (claimed_by/claimed_until, one
        conditional UPDATE), done once with an outcome, Yamato's code and message."""
        __tablename__ = "kuroneko_job_items"
        __table_args__ = (sa.Index(None, "job_id", "state"),)
        id = sa.Column(sa.Integer, primary_key=True)
        job_id = sa.Column(sa.Integer, sa.ForeignKey("kuroneko_jobs.id"), nullable=False)
        seq = sa.Column(sa.Integer, nullable=False)                 # position in the job
        key = sa.Column(sa.String(64), nullable=False, default="")  # お客様管理番号 / order id
        payment_id = sa.Column(sa.Integer, nullable=True, index=True)
        order_no = sa.Column(sa.String(20), nullable=True)          # 決済ID
        host_order_id = sa.Column(sa.String(64), nullable=True)
        params = sa.Column(sa.JSON, nullable=False, default=dict)   # slips, file rows …
        state = sa.Column(sa.String(12), nullable=False, default="pending")  # pending|running|done
        outcome = sa.Column(sa.String(16), nullable=True)
        code = sa.Column(sa.String(32), nullable=True)              # Yamato's code / reason code
        message = sa.Column(sa.Text, nullable=True)                 # Japanese, for the merchant
        prior_status = sa.Column(sa.String(_STATUS_LEN), nullable=True)  # payment before 1st run
        attempts = sa.Column(sa.Integer, nullable=False, default=0)
        next_attempt_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
        claimed_by = sa.Column(sa.String(64), nullable=True)
        claimed_until = sa.Column(sa.DateTime, nullable=True)
        finished_by = sa.Column(sa.String(64), nullable=True)
        started_at = sa.Column(sa.DateTime, nullable=True)
        finished_at = sa.Column(sa.DateTime, nullable=True)

    class Run(Model):
        """One background run (the sweep, ``flask kuroneko sync``): when, how long, what it
        counted — for ``flask kuroneko stats`` and the 診断 page. Old rows are pruned."""
        __tablename__ = "kuroneko_runs"
        id = sa.Column(sa.Integer, primary_key=True)
        kind = sa.Column(sa.String(16), nullable=False)            # sweep | sync
        started_at = sa.Column(sa.DateTime, nullable=False)
        finished_at = sa.Column(sa.DateTime, nullable=False)
        duration_ms = sa.Column(sa.Integer, nullable=False)
        errors = sa.Column(sa.Integer, nullable=False, default=0)
        unreachable = sa.Column(sa.Integer, nullable=False, default=0)
        report = sa.Column(sa.JSON, nullable=False, default=dict)
        worker = sa.Column(sa.String(64), nullable=True)
        __table_args__ = (sa.Index("ix_kuroneko_runs_kind_id", "kind", "id"),)

    models = SimpleNamespace(Settings=Settings, PaymentMethod=PaymentMethod, Payment=Payment,
                             PaymentHistory=PaymentHistory, ErrorLog=ErrorLog,
                             PrepaymentLog=PrepaymentLog, Operation=Operation, Job=Job,
                             JobItem=JobItem, Run=Run)
    _defined["models"] = models
    return models


_defined: dict[str, SimpleNamespace] = {}
#: The classes (also reachable as ``kuroneko.models`` / ``state.models``); defined at import
#: so that :data:`metadata` is complete for the migrations.
MODELS = define_models()
