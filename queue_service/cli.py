"""The ``queue-service`` command (also ``flask --app queue_service ...``). No command asks for
input, so automation and containers can run them; all honour DATABASE_URL and CLOCK_START."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .db import upgrade_database
from .errors import N_, DomainError
from .extensions import app_object

DEMO_USERS = [
    ("admin", "admin", []),
    ("leitung-aegi", "manager", ["aegi"]),
    ("sachbearbeitung-aegi", "clerk", ["aegi"]),
    ("sachbearbeitung-linden", "clerk", ["linden"]),
]


def _fail(error: Exception) -> NoReturn:
    if isinstance(error, DomainError):
        problems = getattr(error, "problems", None) or [error.detail]
        click.echo(f"Error: {error.title}", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
    else:
        click.echo(f"Error: {error}", err=True)
    sys.exit(2)


@click.command("load-catalogue")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def load_catalogue_command(path: str) -> None:
    """Validate and load a catalogue file (all or nothing)."""
    from .offices.catalogue import load_catalogue_file

    try:
        report = load_catalogue_file(path)
    except DomainError as error:
        _fail(error)
    click.echo(
        f"Loaded {report.offices} offices, {report.services} services, {report.counters} counters, "
        f"{report.windows} opening windows, {report.closures} closures, "
        f"{report.mobile_events} mobile dates."
    )


@click.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "manager", "clerk"]), required=True)
@click.option("--office", "offices", multiple=True, help="office slug (repeat for several)")
@with_appcontext
def create_user_command(name: str, role: str, offices: tuple[str, ...]) -> None:
    """Create a staff account and print its generated password once."""
    from .auth.services import create_user

    try:
        created = create_user(name, role, list(offices))
    except DomainError as error:
        _fail(error)
    click.echo(f"User {created.username} ({created.role.value}) created.")
    click.echo(f"Password: {created.password}")


def _expiry(value: str | None):
    """--expires: a number of days ("90", "90d") or a date ("2027-03-31", end of that day)."""
    from datetime import date, time, timedelta

    from . import clock

    if not value:
        return None
    text = value.strip().lower().removesuffix("d")
    if text.isdigit():
        return clock.now() + timedelta(days=int(text))
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter("use a number of days (90d) or a date (2027-03-31)") from exc
    return clock.local_to_utc(day, time(23, 59, 59))


@click.command("create-token")
@click.argument("user")
@click.option("--name", "name", default=None, help="what the token is for (shown when listed)")
@click.option("--label", "label", default=None, hidden=True)  # the former name of --name
@click.option("--expires", default=None, help="validity: days (90d) or a last date (2027-03-31)")
@with_appcontext
def create_token_command(
    user: str, name: str | None, label: str | None, expires: str | None
) -> None:
    """Print a new bearer API token acting as USER (shown only now; stored as a hash)."""
    from .auth.tokens import create_api_token

    try:
        token = create_api_token(user, name or label, expires_at=_expiry(expires))
    except DomainError as error:
        _fail(error)
    click.echo(token)


@click.command("list-tokens")
@click.argument("user")
@with_appcontext
def list_tokens_command(user: str) -> None:
    """List the API tokens of USER that are not revoked (never the tokens themselves)."""
    from sqlalchemy import select

    from .auth.models import User
    from .auth.tokens import list_api_tokens
    from .extensions import db

    account = db.session.scalar(select(User).where(User.username == user))
    if account is None:
        _fail(DomainError(N_("There is no user %(username)s."), params={"username": repr(user)}))
    rows = list_api_tokens(account.id)
    if not rows:
        click.echo(f"{user} has no API tokens.")
    for row in rows:
        expires = row.expires_at.isoformat(timespec="minutes") if row.expires_at else "never"
        used = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "never"
        state = "valid" if row.valid else "expired"
        click.echo(f"{row.name}\t{state}\texpires {expires}\tlast used {used}")


@click.command("revoke-token")
@click.argument("user")
@with_appcontext
def revoke_token_command(user: str) -> None:
    """Revoke every API token of USER; prints which tokens were revoked."""
    from .auth.tokens import revoke_user_tokens

    try:
        names = revoke_user_tokens(user)
    except DomainError as error:
        _fail(error)
    if names:
        click.echo(f"Revoked {len(names)} API token(s) of {user}: {', '.join(names)}.")
    else:
        click.echo(f"{user} had no API token to revoke.")
    click.echo("Sessions in browsers are not affected (log out, or reset the password, for that).")


@click.command("create-device")
@click.argument("slug")
@click.option("--kind", type=click.Choice(["kiosk", "display"]), required=True)
@click.option("--name", default=None)
@with_appcontext
def create_device_command(slug: str, kind: str, name: str | None) -> None:
    """Register a kiosk or display for office SLUG and print its device token."""
    from .auth.services import create_device

    try:
        token = create_device(slug, kind, name)
    except DomainError as error:
        _fail(error)
    click.echo(token)


def _base_url() -> str:
    from .links import public_base_url

    return public_base_url()


def run_server(app: Flask) -> None:
    from .extensions import socketio
    from .scheduler.runtime import start_embedded

    cfg = app.config
    click.echo(f"Async mode: {socketio.async_mode}")
    if start_embedded(app):
        click.echo("Scheduler: embedded in this process (SCHEDULER_ENABLED=0 to turn it off)")
    # FlaskGroup sets this for every command, and app.run() then returns at once without serving
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    if socketio.async_mode == "gevent":
        from gevent import pywsgi

        from .serving import Handler

        # what socketio.run builds for gevent, with Nagle's algorithm off (serving.py says why)
        server = pywsgi.WSGIServer((cfg["HOST"], cfg["PORT"]), app, handler_class=Handler, log=None)
        socketio.wsgi_server = server
        server.serve_forever()
        return
    socketio.run(
        app,
        host=cfg["HOST"],
        port=cfg["PORT"],
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
    )


@click.command("serve")
@with_appcontext
def serve_command() -> None:
    """Serve the application (HOST and PORT from the environment)."""
    click.echo(f"Serving on {_base_url()}/ (Ctrl+C to stop)")
    run_server(app_object())


@click.command("demo")
@click.option("--no-serve", is_flag=True, help="prepare the demo but do not start the server")
@click.option(
    "--accounts-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="also write the demo staff accounts as JSON to this file (mode 600), for scripts",
)
@with_appcontext
def demo_command(no_serve: bool, accounts_file: str | None) -> None:
    """Migrate, load the nine offices, create demo staff and serve, printing the URLs."""
    from .auth.services import create_user, reset_password, user_exists
    from .offices.catalogue import DEMO_FILE, load_catalogue_file

    try:
        upgrade_database()
        report = load_catalogue_file(DEMO_FILE)
    except DomainError as error:
        _fail(error)
    click.echo(
        f"Database ready; demo catalogue: {report.offices} offices, {report.services} services."
    )
    click.echo("")
    click.echo("Demo staff accounts (passwords are new on every run, shown only here):")
    accounts = []
    for username, role, offices in DEMO_USERS:
        if user_exists(username):
            password = reset_password(username)
        else:
            password = create_user(username, role, offices).password
        accounts.append(
            {"username": username, "role": role, "offices": offices, "password": password}
        )
        where = ", ".join(offices) if offices else "all offices"
        click.echo(f"  {username:<24} {role:<8} {where:<14} password: {password}")
    if accounts_file:
        import json

        fd = os.open(accounts_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(accounts, fh, indent=2)
    base = _base_url()
    click.echo("")
    click.echo("Open:")
    click.echo(f"  Start page            {base}/")
    click.echo(f"  Book an appointment   {base}/termin/")
    click.echo(f"  Kiosk (Aegi)          {base}/kiosk/aegi")
    click.echo(
        f"    register it first:  {base}/kiosk/register?office=aegi  (log in as leitung-aegi)"
    )
    click.echo(f"  Display (Aegi)        {base}/display/aegi")
    click.echo(f"  Staff login           {base}/admin/login  (clerks land on the desk /admin/desk)")
    click.echo(f"  API                   {base}/api/v1/offices  (OpenAPI: {base}/api/openapi.json)")
    if current_app.config.get("CLOCK_START"):
        click.echo(f"  Clock started at      {current_app.config['CLOCK_START']}")
    from .notify.mail import describe_backend

    click.echo(f"  Mail                  {describe_backend()}")
    if no_serve:
        return
    click.echo("")
    click.echo(f"Serving on {base}/ (Ctrl+C to stop)")
    run_server(app_object())


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduled jobs (scaled profile: one such process; a second one stands by)."""
    import signal

    from .realtime import emit_only
    from .scheduler.runtime import guarded

    emit_only()  # its jobs publish to the displays through the message queue
    runner = guarded(app_object())

    def _stop(signum, frame):
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"Scheduler process started; lock: {runner.lock.description}")
    runner.run()
    click.echo("Scheduler stopped.")


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
    from .tickets.services import close_day

    try:
        count = close_day(slug, reason)
    except DomainError as error:
        _fail(error)
    click.echo(f"Closed the queue of {slug}: {count} ticket(s) marked as not served.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back up the database to PATH while it serves (SQLite backup API, or pg_dump -Fc)."""
    from .backup import BackupError, backup

    try:
        size = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as error:
        _fail(error)
    click.echo(f"Backup written to {path} ({size:,} bytes).")


def _after_restore(skip_numbers: int) -> None:
    from .backup import after_restore

    done = after_restore(skip_numbers)
    click.echo(
        f"Today's ticket numbers moved on by {done['skipped_numbers']} in {done['offices']} "
        f"offices ({done['prefixes']} prefixes); {done['event_seqs_moved']} display event "
        f"counters moved on (displays resync); {done['sequences_set']} id sequences set."
    )


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="confirm: the database's contents are replaced")
@click.option("--skip-numbers", default=100, show_default=True, help="today's numbers to skip")
@with_appcontext
def restore_command(path: Path, yes: bool, skip_numbers: int) -> None:
    """Replace the database by the backup PATH (servers stopped), then make it safe to serve."""
    from .backup import BackupError, restore

    if not yes:
        _fail(RuntimeError("restore replaces the whole database: stop the servers, add --yes"))
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as error:
        _fail(error)
    click.echo(f"Restored from {path}.")
    _after_restore(skip_numbers)


@click.command("after-restore")
@click.option("--skip-numbers", default=100, show_default=True, help="today's numbers to skip")
@with_appcontext
def after_restore_command(skip_numbers: int) -> None:
    """After restoring by hand: skip today's numbers, resync displays, set id sequences."""
    _after_restore(skip_numbers)


COMMANDS = [
    load_catalogue_command,
    create_user_command,
    create_token_command,
    list_tokens_command,
    revoke_token_command,
    create_device_command,
    serve_command,
    demo_command,
    scheduler_command,
    close_day_command,
    backup_command,
    restore_command,
    after_restore_command,
]


def register_commands(app: Flask) -> None:
    from .simulation.command import simulate_command

    for command in [*COMMANDS, simulate_command]:
        app.cli.add_command(command)


def _create_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    help="Bürgerservice Hannover: appointments and queues.",
)


SERVING_COMMANDS = ("serve", "demo")


def _gevent_unless_told(argv: list[str]) -> None:
    """``serve`` and ``demo`` run gevent, as deployed, unless SOCKETIO_ASYNC_MODE says otherwise.

    gevent must patch the standard library before anything imports it, and this process has
    imported it already: it starts itself again with the mode set (the package patches first).
    """
    if os.environ.get("SOCKETIO_ASYNC_MODE"):
        return
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command not in SERVING_COMMANDS:
        return
    env = dict(os.environ, SOCKETIO_ASYNC_MODE="gevent")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "queue_service", *argv], env)  # noqa: S606


def main() -> None:
    from . import ConfigError

    _gevent_unless_told(sys.argv[1:])
    try:
        cli.main(prog_name="queue-service")
    except ConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
