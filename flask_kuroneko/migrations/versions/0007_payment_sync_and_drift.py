"""Payments: when Yamato's 取引状況 and 警報 changed, the 差異 (drift) columns, list indexes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

* ``yamato_status_at`` / ``yamato_warning_at``: when the shop learned Yamato's state or
  warning changed (shown beside them in the admin and the host's panel);
* ``drift_kind``, ``drift_at``, ``drift_acknowledged_at``/``_by``: the 差異 list (M25) and its
  「確認済み」; a drift recorded before this revision (text only) becomes an open drift of kind
  ``yamato_other`` dated by its payment's last sync;
* the 決済一覧 pages by id within a filter (keyset paging): ``(status, id)`` replaces the index
  on ``status`` alone, plus ``(kind, id)``, ``(yamato_status, id)`` and ``drift_kind``;
  ``(status, created_at)`` finds the 与信 near Yamato's 90-day shipment limit.

All columns are nullable: the old code keeps running against the upgraded table.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

payments = sa.table("kuroneko_payments", sa.column("drift", sa.Text),
                    sa.column("drift_kind", sa.String(24)), sa.column("drift_at", sa.DateTime),
                    sa.column("synced_at", sa.DateTime), sa.column("updated_at", sa.DateTime))


def upgrade() -> None:
    with op.batch_alter_table("kuroneko_payments") as batch:
        batch.add_column(sa.Column("yamato_status_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("yamato_warning_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("drift_kind", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("drift_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("drift_acknowledged_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("drift_acknowledged_by", sa.String(length=64), nullable=True))
        batch.drop_index("ix_kuroneko_payments_status")
        batch.create_index("ix_kuroneko_payments_status_id", ["status", "id"], unique=False)
        batch.create_index("ix_kuroneko_payments_status_created_at", ["status", "created_at"],
                           unique=False)
        batch.create_index("ix_kuroneko_payments_kind_id", ["kind", "id"], unique=False)
        batch.create_index("ix_kuroneko_payments_yamato_status_id", ["yamato_status", "id"],
                           unique=False)
        batch.create_index("ix_kuroneko_payments_drift_kind", ["drift_kind"], unique=False)
    op.get_bind().execute(
        payments.update().where(payments.c.drift.is_not(None))
        .values(drift_kind="yamato_other",
                drift_at=sa.func.coalesce(payments.c.synced_at, payments.c.updated_at)))


def downgrade() -> None:
    with op.batch_alter_table("kuroneko_payments") as batch:
        batch.drop_index("ix_kuroneko_payments_drift_kind")
        batch.drop_index("ix_kuroneko_payments_yamato_status_id")
        batch.drop_index("ix_kuroneko_payments_kind_id")
        batch.drop_index("ix_kuroneko_payments_status_created_at")
        batch.drop_index("ix_kuroneko_payments_status_id")
        batch.create_index("ix_kuroneko_payments_status", ["status"], unique=False)
        batch.drop_column("drift_acknowledged_by")
        batch.drop_column("drift_acknowledged_at")
        batch.drop_column("drift_at")
        batch.drop_column("drift_kind")
        batch.drop_column("yamato_warning_at")
        batch.drop_column("yamato_status_at")
