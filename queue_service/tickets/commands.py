"""``queue-service close-day SLUG``: end of day for an office's queue (a job later)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..errors import DomainError


@click.command("close-day")
@click.argument("slug")
@click.option(
    "--reason",
    default=None,
    help='stored on every ticket left (default "Office closed for the day")',
)
@with_appcontext
def close_day_command(slug: str, reason: str | None) -> None:
    """Close office SLUG's queue: open tickets become not served (nothing is deleted)."""
    from ..cli import _fail
    from .services import close_day

    try:
        count = close_day(slug, reason)
    except DomainError as error:
        _fail(error)
    click.echo(f"Closed the queue of {slug}: {count} ticket(s) marked as not served.")
