"""The merchant password encrypted at rest (secretbox, AES-256-GCM) and its column widened.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

0.1.0 stored the password in plain text. The upgrade encrypts a stored plain-text password
with the app's key (KURONEKO_SECRET_KEY, else SECRET_KEY: docs/integration.md); without a key
it refuses before changing anything. The downgrade decrypts it again (0.1.0 reads plain text)
and needs the same key. ``kuroneko_settings.password`` becomes VARCHAR(255) so a later key
format has room.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from flask_kuroneko import secretbox
from flask_kuroneko.errors import ConfigurationError

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

settings = sa.table("kuroneko_settings", sa.column("id", sa.Integer),
                    sa.column("password", sa.String(255)))


def _box() -> Any:
    from flask import current_app, has_app_context
    if not has_app_context():
        raise ConfigurationError(
            "The stored merchant password must be encrypted with the app's key: run the "
            "upgrade inside the app (`flask kuroneko db upgrade` or kuroneko.upgrade_db()).")
    return secretbox.box_for(current_app.config)


def _rows() -> list[Any]:
    return op.get_bind().execute(sa.select(settings.c.id, settings.c.password)).all()


def upgrade() -> None:
    plain = [r for r in _rows() if r.password and not secretbox.is_encrypted(r.password)]
    box = _box() if plain else None                  # refuse before changing anything
    with op.batch_alter_table("kuroneko_settings") as batch:
        batch.alter_column("password", existing_type=sa.String(64), type_=sa.String(255),
                           existing_nullable=False)
    for row in plain:
        op.get_bind().execute(settings.update().where(settings.c.id == row.id)
                              .values(password=box.encrypt(row.password)))


def downgrade() -> None:
    sealed = [r for r in _rows() if secretbox.is_encrypted(r.password)]
    box = _box() if sealed else None
    for row in sealed:
        op.get_bind().execute(settings.update().where(settings.c.id == row.id)
                              .values(password=box.decrypt(row.password)))
    with op.batch_alter_table("kuroneko_settings") as batch:
        batch.alter_column("password", existing_type=sa.String(255), type_=sa.String(64),
                           existing_nullable=False)
