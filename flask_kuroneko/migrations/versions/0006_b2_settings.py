"""B2クラウド settings (「B2クラウド設定」, docs/b2.md): ご依頼主, ご請求先, 送り状種類/クール区分
per delivery method, the file layout.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Columns added to the settings row with server defaults (the existing row gets the fresh-install
values: empty sender = the export is refused until the merchant fills it in); the two maps are
nullable JSON (NULL reads as "none set"). A downgrade drops them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TEXT_COLUMNS = (("b2_shipper_name", 64, ""), ("b2_shipper_name_kana", 64, ""),
                ("b2_shipper_phone", 20, ""), ("b2_shipper_postal_code", 10, ""),
                ("b2_shipper_address", 128, ""), ("b2_shipper_building", 64, ""),
                ("b2_billing_customer_code", 12, ""), ("b2_billing_class_code", 3, ""),
                ("b2_freight_no", 2, "01"))


def upgrade() -> None:
    with op.batch_alter_table("kuroneko_settings") as batch:
        for name, length, default in TEXT_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), server_default=default,
                                       nullable=False))
        batch.add_column(sa.Column("b2_slip_types", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("b2_cool_methods", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("b2_header_row", sa.Boolean(), server_default=sa.true(),
                                   nullable=False))
        batch.add_column(sa.Column("b2_columns", sa.Integer(), server_default="97",
                                   nullable=False))
        batch.add_column(sa.Column("b2_notice_mail", sa.Boolean(), server_default=sa.false(),
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("kuroneko_settings") as batch:
        for name in ("b2_notice_mail", "b2_columns", "b2_header_row", "b2_cool_methods",
                     "b2_slip_types", *reversed([c[0] for c in TEXT_COLUMNS])):
            batch.drop_column(name)
