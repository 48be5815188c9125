"""``flask --app example_shop …`` commands of the demo."""
from __future__ import annotations

import click
from flask import Flask

from .extensions import db, kuroneko


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the shop's tables, bring the kuroneko_* tables to the needed revision (the
        extension's own migrations) and create the demo data."""
        db.create_all()
        result = kuroneko.upgrade_db()
        click.echo(f"kuroneko tables: {result}")
        from .demo import seed
        click.echo("demo data created" if seed() else "demo data already present")

    @app.cli.command("outbox")
    @click.option("--limit", default=10, show_default=True)
    def outbox(limit: int) -> None:
        """Print the latest mails of the outbox."""
        from .models import MailMessage
        rows = db.session.scalars(db.select(MailMessage).order_by(MailMessage.id.desc())
                                  .limit(limit)).all()
        for m in rows:
            click.echo(f"#{m.id} {m.created_at:%Y-%m-%d %H:%M} to={m.recipient} {m.subject}")
