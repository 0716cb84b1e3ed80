"""Settings: documented defaults, overridden by environment variables (see docs/configuration.md).

Nothing secret lives in code: ``SECRET_KEY`` comes from the environment or is generated once and
kept in the instance folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_bool(value: str | None) -> bool | None:
    if value is None or value.strip() == "":
        return None
    return _bool(value)


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else from instance/secret_key (created on first use)."""
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def from_environment(instance_path: str) -> dict:
    """The configuration as read from the environment, with defaults."""
    return (
        _booking_and_mail_from_environment()
        | _server_from_environment(instance_path)
        | _kiosk_from_environment()
        | _queue_from_environment()
    )


def _database_url(instance_path: str) -> str:
    """DATABASE_URL (postgres:// and postgresql:// meaning psycopg 3), else SQLite in the instance."""
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "queue_service.sqlite3")
    )
    if database_url.startswith("postgres://"):
        return "postgresql+psycopg://" + database_url[len("postgres://") :]
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


def _server_from_environment(instance_path: str) -> dict:
    """Database, Redis, clock, serving, logging and scheduler settings."""
    return {
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "CLOCK_START": os.environ.get("CLOCK_START") or None,
        # simulation and demo only: the clock runs this many times faster than real time from
        # CLOCK_START, which it reads at the real moment CLOCK_ANCHOR (default: process start)
        "CLOCK_SPEED": float(os.environ.get("CLOCK_SPEED") or 1.0),
        "CLOCK_ANCHOR": os.environ.get("CLOCK_ANCHOR") or None,
        "HOST": os.environ.get("HOST", "127.0.0.1"),
        "PORT": _int("PORT", 5000),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or None,
        # host names this deployment answers to (comma-separated); others get 400. Absolute
        # links use PUBLIC_BASE_URL, else the request's host only when it is checked this way.
        "TRUSTED_HOSTS": _list(os.environ.get("TRUSTED_HOSTS")) or None,
        "SOCKETIO_ASYNC_MODE": os.environ.get("SOCKETIO_ASYNC_MODE", "threading"),
        # Redis pub/sub channel of the Socket.IO message queue: one per deployment sharing a Redis
        "SOCKETIO_CHANNEL": os.environ.get("SOCKETIO_CHANNEL") or "queue-service",
        "DISPLAY_POLL_SECONDS": _int("DISPLAY_POLL_SECONDS", Defaults.DISPLAY_POLL_SECONDS),
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), False),
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), True),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # "json": one JSON object per log line, and one line per request (docs/operations.md)
        "LOG_FORMAT": (os.environ.get("LOG_FORMAT") or "text").strip().lower(),
        # GET /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; unset: no endpoint
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        # unset: the scheduler runs inside `serve` on SQLite; on PostgreSQL use `scheduler`
        "SCHEDULER_ENABLED": _optional_bool(os.environ.get("SCHEDULER_ENABLED")),
        "SCHEDULER_LOCK_RETRY_SECONDS": float(os.environ.get("SCHEDULER_LOCK_RETRY_SECONDS") or 10),
        "SCHEDULER_JOB_INTERVALS": os.environ.get("SCHEDULER_JOB_INTERVALS") or None,
    }


def _kiosk_from_environment() -> dict:
    """Kiosk printing, proxies, timings, rate limits and alerts."""
    return {
        "KIOSK_CUPS_PRINTING": _bool(os.environ.get("KIOSK_CUPS_PRINTING"), False),
        # reverse proxies in front of the server whose X-Forwarded-For/-Proto/-Host are trusted
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "KIOSK_IDLE_SECONDS": _int("KIOSK_IDLE_SECONDS", Defaults.KIOSK_IDLE_SECONDS),
        "KIOSK_TICKET_SECONDS": _int("KIOSK_TICKET_SECONDS", Defaults.KIOSK_TICKET_SECONDS),
        "KIOSK_RATELIMIT_TICKETS": os.environ.get("KIOSK_RATELIMIT_TICKETS")
        or Defaults.KIOSK_RATELIMIT_TICKETS,
        "KIOSK_RATELIMIT_TICKETS_HOURLY": os.environ.get("KIOSK_RATELIMIT_TICKETS_HOURLY")
        or Defaults.KIOSK_RATELIMIT_TICKETS_HOURLY,
        "KIOSK_ALERT_TICKETS": _int("KIOSK_ALERT_TICKETS", Defaults.KIOSK_ALERT_TICKETS),
        "KIOSK_ALERT_WINDOW_MINUTES": _int(
            "KIOSK_ALERT_WINDOW_MINUTES", Defaults.KIOSK_ALERT_WINDOW_MINUTES
        ),
        "KIOSK_PAPER": os.environ.get("KIOSK_PAPER") or Defaults.KIOSK_PAPER,
        "KIOSK_CHECKIN": (os.environ.get("KIOSK_CHECKIN") or Defaults.KIOSK_CHECKIN)
        .strip()
        .lower(),
    }


def _queue_from_environment() -> dict:
    """The live queue and the caches of its public reads."""
    return {
        "NO_SHOW_AFTER_RECALLS": _int("NO_SHOW_AFTER_RECALLS", Defaults.NO_SHOW_AFTER_RECALLS),
        "STATUS_CACHE_SECONDS": float(
            os.environ.get("STATUS_CACHE_SECONDS") or Defaults.STATUS_CACHE_SECONDS
        ),
        "NEXT_FREE_CACHE_SECONDS": float(
            os.environ.get("NEXT_FREE_CACHE_SECONDS") or Defaults.NEXT_FREE_CACHE_SECONDS
        ),
    }


class Defaults:
    """Documented defaults. Each can be overridden by test_config or the environment."""

    # PostgreSQL: a pooled connection idle this long is pinged before use (db.py)
    DATABASE_PING_IDLE_SECONDS = 10.0
    # where public holidays come from (the holidays package)
    HOLIDAY_COUNTRY = "DE"
    HOLIDAY_SUBDIV = "NI"
    DEFAULT_TIMEZONE = "Europe/Berlin"
    # languages: German first, English complete
    LANGUAGES = ["de", "en"]
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    # sessions and CSRF
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_CHECK_DEFAULT = False  # checked in a before_request hook (token clients are exempt)
    WTF_CSRF_TIME_LIMIT = 12 * 3600  # a clerk's working day
    # staff sessions end after this much inactivity (a lunch break is fine, a desk left
    # overnight is not) and at the latest this long after signing in (docs/security-auth.md)
    STAFF_SESSION_IDLE_MINUTES = 120
    STAFF_SESSION_MAX_HOURS = 12
    # per-account lockout on top of the per-address limit: after this many wrong passwords in a
    # row sign-in pauses LOGIN_LOCKOUT_MINUTES, doubling with each further one up to the maximum
    LOGIN_LOCKOUT_THRESHOLD = 5
    LOGIN_LOCKOUT_MINUTES = 1
    LOGIN_LOCKOUT_MAX_MINUTES = 15
    # Strict-Transport-Security max-age (seconds) on answers served over TLS; 0 turns it off
    HSTS_MAX_AGE = 365 * 24 * 3600
    # rate limits (Flask-Limiter); storage is Redis when REDIS_URL is set
    RATELIMIT_LOGIN = "10 per minute"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: limits are counted in process memory (logged) until it answers again, and a
    # hung Redis costs a request at most a second
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # requests already talking to Redis when it went away are let through (logged) instead of
    # answered 500; the next ones are counted in memory
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS: dict = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # the database down or restarting: requests are answered 503 with this Retry-After
    DATABASE_RETRY_AFTER_SECONDS = 5
    # request bodies: the largest legitimate one (an admin form, a booking) is a few kilobytes;
    # larger ones get 413 before they are read
    MAX_CONTENT_LENGTH = 64 * 1024
    API_MAX_JSON_DEPTH = 16  # nesting of an API request's JSON body (ours need 3)
    # online booking (docs/booking.md); demo values from the domain notes, to be set by the city
    # keep the slot search's catalogue reads per process until the catalogue revision changes
    # (offices/revision.py); off: read them in every request
    CATALOGUE_CACHE = True
    # keep a one-office slot search's answer per process until the seat revision changes or the
    # answer's own valid-until moment passes (booking/slots.py); needs CATALOGUE_CACHE
    SEARCH_CACHE = True
    # keep what a bearer token's lookup found (token, user, role, offices) per process until the
    # auth revision changes (auth/tokens.py); off: read them in every request
    AUTH_CACHE = True
    BOOKING_WINDOW_DAYS = 42  # the last bookable day is today + 42 ...
    BOOKING_RELEASE_TIME = "08:00"  # ... from 08:00 local time on (before: today + 41)
    BOOKING_MIN_LEAD_MINUTES = 60  # the earliest bookable start is now + this
    BOOKING_UNIT_MINUTES = 5  # capacity is counted per unit; durations round up to units
    BOOKING_SLOT_GRID_MINUTES = 5  # offered start times, from each window's start
    BOOKING_MAX_SERVICES = 4
    BOOKING_MAX_PERSONS = 5
    BOOKING_DOUBLE_OPT_IN = False  # True: a booking counts only once confirmed from the mail
    HOLD_MINUTES = 10  # a chosen time is held this long while the form is filled in
    CONFIRM_MINUTES = 30  # double opt-in: unconfirmed bookings expire after this
    RELEASE_DELAY_MINUTES = 60  # a cancelled slot returns to the pool only after this (trading)
    MAX_ACTIVE_APPOINTMENTS_PER_EMAIL = 3
    # waitlist ("Terminwecker", docs/waitlist.md): an offered time is kept this long for the
    # resident; at most this many open requests per address; a request spans at most this many
    # days; after this many unanswered offers a request ends
    WAITLIST_OFFER_MINUTES = 60
    WAITLIST_MAX_ACTIVE_PER_EMAIL = 3
    WAITLIST_MAX_RANGE_DAYS = 60
    WAITLIST_MAX_LAPSES = 2
    CHECKIN_EARLY_MINUTES = 30  # check-in opens this long before the appointment
    CHECKIN_LATE_MINUTES = 15  # ... and closes this long after its start (then: no-show)
    # DSGVO: days after an appointment until its personal data (name, e-mail, phone) is removed
    PERSONAL_DATA_RETENTION_DAYS = 2
    RATELIMIT_BOOKING_SEARCH = "60 per minute"  # per client address, slot searches
    RATELIMIT_BOOKING_WRITE = "10 per minute"  # per client address, holds and bookings
    # mail: "folder" writes .eml files to MAIL_FOLDER (default <instance>/mail), "console" logs
    # them, "smtp" sends through MAIL_SERVER
    MAIL_BACKEND = "folder"
    MAIL_FOLDER: str | None = None
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False  # STARTTLS
    MAIL_USE_SSL = False  # implicit TLS (port 465)
    MAIL_TIMEOUT = 10  # seconds
    MAIL_ASYNC = True  # send from a background thread, so a request never waits for SMTP
    # an undelivered mail stays in the outbox; the scheduler retries it after this many seconds,
    # doubled after each failure up to the maximum
    MAIL_RETRY_SECONDS = 30
    MAIL_RETRY_MAX_SECONDS = 1800
    # a row being sent is claimed for this long (a killed sender's rows wait it out); None: three
    # SMTP timeouts plus 30 s
    MAIL_CLAIM_LEASE_SECONDS: float | None = None
    # who composes and sends a new mail: "committer" (the process whose change wrote it, right
    # after the commit) or "scheduler" (the scheduler process's mail sender, within
    # MAIL_SENDER_POLL_SECONDS; the server processes only write the outbox row)
    MAIL_SENT_BY = "committer"
    MAIL_SENDER_POLL_SECONDS = 1
    MAIL_FROM = "Bürgerservice Hannover <termine@buergerservice-hannover.example>"
    # SQLAlchemy
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}  # set by create_app from engine_options()
    SQLITE_WRITER_LOCK = True  # threads of one process queue for SQLite's single writer (db.py)
    # an office's walk-ins queue in-process for the database's walk-in lock (tickets/issuing.py)
    WALKIN_ADMISSION_LOCK = True
    JSON_SORT_KEYS = False
    # seconds a display waits between snapshot polls while its socket is down, and between
    # seq checks (heartbeats) while it is up
    DISPLAY_POLL_SECONDS = 10
    # realtime (docs/realtime-protocol.md): calls in a display snapshot; emits from a dispatcher
    # thread after the commit (off: in the committing thread, for in-process tests)
    DISPLAY_CALL_HISTORY = 10
    # calls (and withdrawn calls) of the last this many seqs of an office are kept for displays
    # that reconnect (join_office with since): a gap longer than that gets the snapshot only
    DISPLAY_REPLAY_SEQS = 1000
    DISPLAY_CALL_MINUTES = 10  # how long a call stays in a display's list after it was made
    REALTIME_EMIT_IN_BACKGROUND = True
    # the dispatcher gathers an office's queue changes this long (from the first) into one
    # queue read and one queue_updated; calls go out at once (0: read at once, per round)
    REALTIME_COALESCE_SECONDS = 0.15
    # ... and reads at most this share of the time (windows grow under a flood of changes)
    REALTIME_READ_SHARE = 0.25
    # ... but a read is never put off by more than this (plus the read's own time): the
    # displays wait 2 s for a missing seq before they resync
    REALTIME_READ_MAX_DEFER_SECONDS = 1.0
    # joining displays, HTTP polls and phones' status reads share one queue read per office
    # while its seq is unchanged
    DISPLAY_SNAPSHOT_SHARE_SECONDS = 2.0
    # Engine.IO keepalive: a dead peer is noticed within interval + timeout seconds
    SOCKETIO_PING_INTERVAL = 20
    SOCKETIO_PING_TIMEOUT = 10
    # kiosks and displays: server-side CUPS printing (lp) to Device.printer, off by default
    # (kiosks normally print from the browser, see docs/kiosk-setup.md)
    KIOSK_CUPS_PRINTING = False
    # the kiosk page (kiosk/, docs/kiosk.md)
    KIOSK_LANGUAGES = ["de", "en", "tr", "ar", "uk"]  # offered on the kiosk, in this order
    KIOSK_IDLE_SECONDS = 45  # untouched this long: back to the German start page
    KIOSK_TICKET_SECONDS = 25  # the ticket screen (number + QR) stays this long, then resets
    KIOSK_REFRESH_SECONDS = 60  # the untouched start page reloads (opening state, caps, estimates)
    KIOSK_RATELIMIT_TICKETS = "30 per minute"  # ticket issues per kiosk device (Flask-Limiter)
    # ... and per hour, so that one kiosk cannot use up an office's walk-in cap in minutes
    KIOSK_RATELIMIT_TICKETS_HOURLY = "120 per hour"
    # the city overview warns staff about a kiosk that issued this many tickets within the window
    KIOSK_ALERT_TICKETS = 40
    KIOSK_ALERT_WINDOW_MINUTES = 10
    KIOSK_PAPER = (
        "80mm"  # default paper of ticket PDFs (80mm, 58mm, a6); a kiosk URL may say ?paper=
    )
    KIOSK_CHECKIN = "auto"  # "I have an appointment": auto (when the check-in API exists), on, off
    # the registration cookie of a kiosk or display; browsers cap cookie lifetimes at 400 days,
    # so the kiosk page should renew it (auth.web.set_device_cookie) on each visit
    DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600
    # the live queue (queue_service/tickets, docs/tickets.md)
    NO_SHOW_AFTER_RECALLS = 2  # recalls before the clerk may mark a called ticket as a no-show
    # ticket prefix of checked-in appointments ("T042"); empty: the service's own prefix
    APPOINTMENT_TICKET_PREFIX = "T"
    QUEUE_AGEING_WEIGHTS: dict = {}  # service code -> weight (> 0) of its waiting time; default 1
    ESTIMATE_SAMPLE_SIZE = 15  # latest finished tickets per service the median is taken over
    ESTIMATE_MIN_SAMPLES = 3  # fewer observations today: the catalogue duration is used
    # GET /api/v1/status reuses its computed body this long (seconds, per process; 0 = never)
    STATUS_CACHE_SECONDS = 5.0
    # the next free appointment per office (overview, status API) is memoised this long
    NEXT_FREE_CACHE_SECONDS = 60.0


def engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # no pool_pre_ping (a round trip per transaction): db.ping_idle_connections pings only
    # connections that sat idle for DATABASE_PING_IDLE_SECONDS, so connections that died with a
    # database restart are replaced, not handed out; connect_timeout: an unreachable server
    # costs a request seconds, not minutes
    # DATABASE_POOL_SIZE / DATABASE_MAX_OVERFLOW: connections per process (docs/configuration.md);
    # a process holds at most their sum, which with several processes and the scheduler must
    # stay under the server's max_connections
    return {
        "pool_size": _int("DATABASE_POOL_SIZE", 10),
        "max_overflow": _int("DATABASE_MAX_OVERFLOW", 20),
        "pool_timeout": 10,
        "connect_args": {"connect_timeout": 3},
    }


# Online booking and mail settings that the environment may override (see Defaults).
_ENV_INT = (
    "MAX_CONTENT_LENGTH",
    "BOOKING_WINDOW_DAYS",
    "BOOKING_MIN_LEAD_MINUTES",
    "HOLD_MINUTES",
    "CONFIRM_MINUTES",
    "RELEASE_DELAY_MINUTES",
    "MAX_ACTIVE_APPOINTMENTS_PER_EMAIL",
    "WAITLIST_OFFER_MINUTES",
    "WAITLIST_MAX_ACTIVE_PER_EMAIL",
    "WAITLIST_MAX_RANGE_DAYS",
    "WAITLIST_MAX_LAPSES",
    "CHECKIN_EARLY_MINUTES",
    "CHECKIN_LATE_MINUTES",
    "MAIL_PORT",
    "MAIL_TIMEOUT",
    "MAIL_RETRY_SECONDS",
    "MAIL_RETRY_MAX_SECONDS",
    "MAIL_CLAIM_LEASE_SECONDS",
    "MAIL_SENDER_POLL_SECONDS",
    "PERSONAL_DATA_RETENTION_DAYS",
    "STAFF_SESSION_IDLE_MINUTES",
    "STAFF_SESSION_MAX_HOURS",
    "LOGIN_LOCKOUT_THRESHOLD",
    "LOGIN_LOCKOUT_MINUTES",
    "LOGIN_LOCKOUT_MAX_MINUTES",
    "HSTS_MAX_AGE",
)
_ENV_BOOL = (
    "CATALOGUE_CACHE",
    "SEARCH_CACHE",
    "AUTH_CACHE",
    "BOOKING_DOUBLE_OPT_IN",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_ASYNC",
)
_ENV_STR = (
    "BOOKING_RELEASE_TIME",
    "RATELIMIT_BOOKING_SEARCH",
    "RATELIMIT_BOOKING_WRITE",
    "MAIL_BACKEND",
    "MAIL_FOLDER",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_FROM",
    "MAIL_SENT_BY",
)


def _booking_and_mail_from_environment() -> dict:
    values: dict = {}
    for name in _ENV_INT:
        if os.environ.get(name, "") != "":
            values[name] = _int(name, 0)
    for name in _ENV_BOOL:
        if os.environ.get(name) is not None:
            values[name] = _bool(os.environ.get(name))
    for name in _ENV_STR:
        if os.environ.get(name, "") != "":
            values[name] = os.environ[name]
    return values
