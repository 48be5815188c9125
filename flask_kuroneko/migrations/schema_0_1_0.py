"""The kuroneko tables as released in 0.1.0, frozen, with the stable constraint names.

Revisions must never import ``flask_kuroneko.models``: the models move on, a revision must
build the same tables forever. The baseline revision creates these tables; revision 0002 uses
them as the target shape when it renames the constraints of a database that 0.1.0's
``create_all`` made; the upgrade command compares an unversioned database with
:data:`COLUMNS` to recognise a 0.1.0 install. Never edit this module.
"""
from __future__ import annotations

import sqlalchemy as sa

#: A frozen copy of ``models.NAMING_CONVENTION`` as of 0.1.0 (the names a 0.1.0 database
#: gets after revision 0002).
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def build() -> sa.MetaData:
    """A new MetaData holding the seven 0.1.0 tables (Python-side defaults left out: a
    revision copies rows, it never inserts them)."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    C = sa.Column
    sa.Table(
        "kuroneko_settings", metadata,
        C("id", sa.Integer, primary_key=True),
        C("merchant_code", sa.String(11), nullable=False),
        C("password", sa.String(64), nullable=False),
        C("environment", sa.String(16), nullable=False),
        C("yamato_delivery_method_ids", sa.JSON, nullable=False),
        C("other_carrier_enabled", sa.Boolean, nullable=False),
        C("smartphone_enabled", sa.Boolean, nullable=False),
        C("ship_within_days", sa.Integer, nullable=False),
        C("fee_mode", sa.String(8), nullable=False),
        C("fee_fixed", sa.Integer, nullable=True),
        C("fee_tiers", sa.JSON, nullable=False),
        C("credit_limit", sa.Integer, nullable=False),
        C("cancel_with_order", sa.Boolean, nullable=False),
        C("change_amount_with_order", sa.Boolean, nullable=False),
        C("prepayment_log_enabled", sa.Boolean, nullable=False),
        C("conversion_tag", sa.Text, nullable=False),
        C("conversion_on_review", sa.Boolean, nullable=False),
        C("updated_at", sa.DateTime, nullable=False),
        C("version", sa.Integer, nullable=False),
    )
    sa.Table(
        "kuroneko_payment_methods", metadata,
        C("id", sa.Integer, primary_key=True),
        C("kind", sa.String(16), nullable=False, unique=True),
        C("name", sa.String(100), nullable=False),
        C("description_html", sa.Text, nullable=False),
        C("active", sa.Boolean, nullable=False),
        C("sort_order", sa.Integer, nullable=False),
        C("created_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "kuroneko_payments", metadata,
        C("id", sa.Integer, primary_key=True),
        C("order_no", sa.String(20), nullable=False, unique=True),
        C("host_order_id", sa.String(64), nullable=False),
        C("method_id", sa.Integer, sa.ForeignKey("kuroneko_payment_methods.id"), nullable=True),
        C("kind", sa.String(16), nullable=False),
        C("status", sa.String(20), nullable=False),
        C("amount", sa.Integer, nullable=False),
        C("initial_amount", sa.Integer, nullable=False),
        C("fee", sa.Integer, nullable=False),
        C("order_date", sa.Date, nullable=False),
        C("ship_date", sa.Date, nullable=False),
        C("carrier", sa.String(40), nullable=True),
        C("tracking_no", sa.String(20), nullable=True),
        C("process_div", sa.Integer, nullable=True),
        C("capture_note", sa.Text, nullable=True),
        C("sms_phone", sa.String(16), nullable=True),
        C("sms_sent_at", sa.DateTime, nullable=True),
        C("sms_attempts", sa.Integer, nullable=False),
        C("checkout_token", sa.String(64), nullable=True, unique=True),
        C("yamato_status", sa.Integer, nullable=True),
        C("yamato_warning", sa.Integer, nullable=True),
        C("synced_at", sa.DateTime, nullable=True),
        C("drift", sa.Text, nullable=True),
        C("conversion_shown_at", sa.DateTime, nullable=True),
        C("replaces_id", sa.Integer, sa.ForeignKey("kuroneko_payments.id"), nullable=True),
        C("open_operation", sa.String(24), nullable=True),
        C("authorized_at", sa.DateTime, nullable=True),
        C("captured_at", sa.DateTime, nullable=True),
        C("cancelled_at", sa.DateTime, nullable=True),
        C("created_at", sa.DateTime, nullable=False),
        C("updated_at", sa.DateTime, nullable=False),
        sa.Index("ix_kuroneko_payments_host_order_id", "host_order_id"),
        sa.Index("ix_kuroneko_payments_status", "status"),
    )
    sa.Table(
        "kuroneko_payment_history", metadata,
        C("id", sa.Integer, primary_key=True),
        C("payment_id", sa.Integer, sa.ForeignKey("kuroneko_payments.id"), nullable=False),
        C("order_no", sa.String(20), nullable=False),
        C("operation", sa.String(40), nullable=False),
        C("occurred_at", sa.DateTime, nullable=False),
        C("amount", sa.Integer, nullable=True),
        C("result", sa.String(40), nullable=False),
        C("detail", sa.Text, nullable=True),
        C("actor", sa.String(64), nullable=True),
        sa.Index("ix_kuroneko_payment_history_payment_id", "payment_id"),
    )
    sa.Table(
        "kuroneko_error_log", metadata,
        C("id", sa.Integer, primary_key=True),
        C("created_at", sa.DateTime, nullable=False),
        C("order_no", sa.String(20), nullable=True),
        C("kind", sa.String(16), nullable=True),
        C("operation", sa.String(16), nullable=True),
        C("code", sa.String(16), nullable=True),
        C("message", sa.Text, nullable=False),
        C("detail", sa.JSON, nullable=True),
        sa.Index("ix_kuroneko_error_log_created_at", "created_at"),
        sa.Index("ix_kuroneko_error_log_order_no", "order_no"),
    )
    sa.Table(
        "kuroneko_prepayment_log", metadata,
        C("id", sa.Integer, primary_key=True),
        C("created_at", sa.DateTime, nullable=False),
        C("order_no", sa.String(20), nullable=False),
        C("host_order_id", sa.String(64), nullable=True),
        C("kind", sa.String(16), nullable=False),
        C("amount", sa.Integer, nullable=False),
        C("snapshot", sa.JSON, nullable=False),
        C("restored_order_id", sa.String(64), nullable=True),
        C("restored_at", sa.DateTime, nullable=True),
        sa.Index("ix_kuroneko_prepayment_log_created_at", "created_at"),
        sa.Index("ix_kuroneko_prepayment_log_order_no", "order_no"),
    )
    sa.Table(
        "kuroneko_operations", metadata,
        C("id", sa.Integer, primary_key=True),
        C("payment_id", sa.Integer, sa.ForeignKey("kuroneko_payments.id"), nullable=False),
        C("operation", sa.String(24), nullable=False),
        C("params", sa.JSON, nullable=False),
        C("state", sa.String(12), nullable=False),
        C("attempts", sa.Integer, nullable=False),
        C("next_attempt_at", sa.DateTime, nullable=False),
        C("claimed_by", sa.String(64), nullable=True),
        C("claimed_until", sa.DateTime, nullable=True),
        C("last_error", sa.Text, nullable=True),
        C("created_at", sa.DateTime, nullable=False),
        C("resolved_at", sa.DateTime, nullable=True),
        sa.Index("ix_kuroneko_operations_payment_id", "payment_id"),
        sa.Index("ix_kuroneko_operations_state", "state"),
    )
    return metadata


#: Table name -> column names of a 0.1.0 install (how an unversioned database is recognised).
COLUMNS: dict[str, frozenset[str]] = {
    table.name: frozenset(table.columns.keys()) for table in build().tables.values()}
