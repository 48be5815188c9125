"""kuroneko_runs: one row per background run (sweep, sync) for ``flask kuroneko stats`` and the
診断 page (last sweep time, duration, errors).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kuroneko_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kuroneko_runs"),
    )
    with op.batch_alter_table("kuroneko_runs") as batch:
        batch.create_index("ix_kuroneko_runs_kind_id", ["kind", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kuroneko_runs") as batch:
        batch.drop_index("ix_kuroneko_runs_kind_id")
    op.drop_table("kuroneko_runs")
