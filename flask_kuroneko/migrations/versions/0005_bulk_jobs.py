"""Bulk jobs: kuroneko_jobs and kuroneko_job_items (docs/jobs.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Two new tables, nothing else changes: a downgrade drops them (with the jobs' history).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kuroneko_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("runner", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kuroneko_jobs")))
    with op.batch_alter_table("kuroneko_jobs") as batch:
        batch.create_index(batch.f("ix_kuroneko_jobs_created_at"), ["created_at"], unique=False)
        batch.create_index(batch.f("ix_kuroneko_jobs_state"), ["state"], unique=False)
    op.create_table(
        "kuroneko_job_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("order_no", sa.String(length=20), nullable=True),
        sa.Column("host_order_id", sa.String(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("prior_status", sa.String(length=20), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("finished_by", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["kuroneko_jobs.id"],
                                name=op.f("fk_kuroneko_job_items_job_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kuroneko_job_items")))
    with op.batch_alter_table("kuroneko_job_items") as batch:
        batch.create_index(batch.f("ix_kuroneko_job_items_job_id_state"), ["job_id", "state"],
                           unique=False)
        batch.create_index(batch.f("ix_kuroneko_job_items_payment_id"), ["payment_id"],
                           unique=False)


def downgrade() -> None:
    # The indexes go with their tables (MariaDB refuses to drop the one backing the foreign
    # key on its own).
    op.drop_table("kuroneko_job_items")
    op.drop_table("kuroneko_jobs")
