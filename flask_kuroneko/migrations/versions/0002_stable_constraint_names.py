"""Stable constraint and index names on databases made by 0.1.0.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-30

0.1.0 left the names to the server (or to the host's naming convention); later revisions
drop and change constraints by name, so they must be the same everywhere. A database created
by revision 0001 has the right names already and is not touched.

Downgrade keeps the new names: they are valid names at 0001 too, and the server-chosen ones
cannot be chosen back.
"""
from __future__ import annotations

from flask_kuroneko.migrations import naming, schema_0_1_0

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    naming.rename_to(schema_0_1_0.build())


def downgrade() -> None:
    pass
