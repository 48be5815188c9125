"""Baseline: the kuroneko tables of flask-kuroneko 0.1.0, with stable constraint names.

Revision ID: 0001
Revises:
Create Date: 2025-11-30

A database made by 0.1.0 (``create_all``, ``flask kuroneko init-db`` or the host's own
migration) has these tables but no version table: ``flask kuroneko db upgrade`` recognises it
and stamps this revision instead of running it; revision 0002 then renames its constraints.
"""
from __future__ import annotations

from alembic import op

from flask_kuroneko.migrations import schema_0_1_0

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_0_1_0.build().create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    schema_0_1_0.build().drop_all(op.get_bind(), checkfirst=False)
