"""Journal parameters say ``tracking_no`` (docs/glossary.md: 送り状番号 has one code name).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

0.1.0 journaled a capture's and a tracking change's 送り状番号 as ``slip_no`` /
``before_slip_no`` in ``kuroneko_operations.params``; an unsettled row written by 0.1.0 must
still be settled after the upgrade, so its keys are renamed (and back on downgrade).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

operations = sa.table("kuroneko_operations", sa.column("id", sa.Integer),
                      sa.column("params", sa.JSON))
RENAMES = {"slip_no": "tracking_no", "before_slip_no": "before_tracking_no"}


def _rename(mapping: dict[str, str]) -> None:
    bind = op.get_bind()
    for op_id, params in bind.execute(sa.select(operations.c.id, operations.c.params)).all():
        if not isinstance(params, dict) or not set(mapping) & set(params):
            continue
        renamed = {mapping.get(key, key): value for key, value in params.items()}
        bind.execute(operations.update().where(operations.c.id == op_id).values(params=renamed))


def upgrade() -> None:
    _rename(RENAMES)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMES.items()})
