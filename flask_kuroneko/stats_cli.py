"""``flask kuroneko stats``: the payments' figures as JSON (payments/stats.py), for monitoring.
Exits 1 when the schema is out of date (the figures would be wrong or fail)."""
from __future__ import annotations

import json

import click

from .payments import stats


@click.command("stats")
def stats_command() -> None:
    """Print counts by status, the oldest waiting SMS / review / journal entry, the last sweep
    (time, duration, errors), open 差異 and more, as JSON (times in Japan time)."""
    from . import migrations
    from .state import current_state
    try:
        migrations.ensure_current(current_state().db.engine)
    except migrations.SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(stats.collect(), ensure_ascii=False, indent=2))
