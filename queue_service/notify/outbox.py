"""Durable mail: ``enqueue`` writes the message into the outbox in the transaction of the change,
so a mail exists exactly when the change does. After the commit it is delivered at once (on the
background sender with MAIL_ASYNC); when the mail server is down it stays pending and the
scheduler's ``send_mail_outbox`` job retries it with exponential backoff, so an SMTP outage
delays mail but loses none.

A change may write a draft instead of the message (``enqueue_draft``): the JSON a registered
composer builds the message from, with its Message-ID fixed in the transaction. The change then
does not wait for templates, QR codes and calendar files; the sender composes it after the
commit, and the job composes it should the process die first. A message composed but not sent
is stored on the row, so every retry sends the same bytes.

Who sends a new mail is MAIL_SENT_BY. "committer" (the default, one process in the embedded
profile): the row is written already claimed by the process that wrote it, which sends it after
the commit (from memory, one UPDATE to record the outcome). "scheduler" (the scaled profile): the
row is written unclaimed and the scheduler process's mail sender (``send_due`` every
MAIL_SENDER_POLL_SECONDS) composes and sends it, so templates, QR codes and calendar files cost
the server processes nothing. Every attempt but the committer's first claims its rows (a
conditional UPDATE that only one sender can win), so two senders (the job in two processes, or
the job and the first sender) never send one row twice.

A composer may find that its mail has nothing true left to say (``Obsolete``: e.g. the
appointment was cancelled before its confirmation went out, and the cancellation is mailed
instead); the row is then marked ``superseded``, not sent. A claim lapses after a few times
MAIL_TIMEOUT, so a row whose process died is sent by the job. A process that dies between the
server's "250 OK" and marking the row sent would send it again after the claim lapses
(at-least-once at that point); the Message-ID stays the same.
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import lru_cache
from typing import cast

from flask import current_app
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Table, and_, delete, func, insert, or_, select, update

from .. import clock
from ..db import after_commit, in_unit_of_work
from ..extensions import app_object, db
from ..links import public_base_url, public_base_url_as
from ..monitoring import metrics
from . import mail
from .models import OutboxMail, OutboxStatus

log = logging.getLogger(__name__)

SENT_RETENTION_DAYS = 30


class Obsolete(Exception):
    """Raised by a composer whose mail would tell something no longer true; not sent."""


# composer name -> function building the message from a draft's data (registered by the package
# that writes the drafts, so notify never imports it)
# (``known``: what the change had in memory, for the first send by the process that made it)
Composer = Callable[[dict, object | None], EmailMessage]
_composers: dict[str, Composer] = {}


def register_composer(name: str, composer: Composer) -> None:
    _composers[name] = composer


def enqueue(message: EmailMessage, kind: str) -> None:
    """Add ``message`` to the outbox as part of the current unit of work.

    The row is created claimed by this process, which sends it right after the commit (no
    further claim, no re-read); should the process die first, the claim lapses and the
    scheduler's job sends it."""
    _enqueue(kind, message)


def enqueue_draft(kind: str, composer: str, data: dict, known: object | None = None) -> None:
    """Add a mail to the outbox as a draft: ``composer`` builds it from ``data`` (JSON) after
    the commit. The row is as durable as a composed one; the change just does not compose.
    ``known``: what the composer would otherwise read, as the change has it (passed only to
    the send right after the commit in this process, never stored)."""
    values = draft_row(kind, composer, data)
    written(insert_row(values), values, known)


def draft_row(kind: str, composer: str, data: dict) -> dict:
    """The outbox row of a draft, as column values: for ``enqueue_draft``, or for a change that
    writes the row in a statement of its own making (then it calls ``written`` with the row's
    id)."""
    if composer not in _composers:
        raise ValueError(f"no mail composer {composer!r}")
    sender = current_app.config["MAIL_FROM"]
    draft = {
        "composer": composer,
        "message_id": mail.message_id(sender),
        # links in the mail point where the change was made, also when composed elsewhere
        "base_url": public_base_url(),
        "data": data,
    }
    return _row_values(kind, None, json.dumps(draft, separators=(",", ":")))


def compose_draft(draft: str, known: object | None = None) -> EmailMessage:
    """The message a draft stands for, with the Message-ID fixed when it was written."""
    found = json.loads(draft)
    composer = _composers.get(found["composer"])
    if composer is None:
        raise LookupError(f"no mail composer {found['composer']!r} in this process")
    with public_base_url_as(found.get("base_url")):
        message = composer(found["data"], known)
    del message["Message-ID"]
    message["Message-ID"] = found["message_id"]
    return message


def sent_by_scheduler() -> bool:
    """MAIL_SENT_BY is "scheduler": changes only write their mails, the scheduler sends them."""
    return current_app.config.get("MAIL_SENT_BY", "committer") == "scheduler"


def _enqueue(kind: str, message: EmailMessage | None) -> None:
    values = _row_values(kind, message, None)
    written(insert_row(values), values, message=message)


def _row_values(kind: str, message: EmailMessage | None, draft: str | None) -> dict:
    """A new pending row: unclaimed for the scheduler's sender; else claimed by this process,
    which sends it right after the commit."""
    if not in_unit_of_work():
        raise RuntimeError("enqueue() belongs inside the unit of work of the change it reports")
    now = clock.real_now()
    by_scheduler = sent_by_scheduler()
    return {
        "kind": kind[:40],
        "status": OutboxStatus.PENDING,
        "message": bytes(message) if message is not None else None,
        "draft": draft,
        "created_at": now,
        "next_attempt_at": now,
        "claimed_until": None if by_scheduler else now + _claim_lease(),
        "attempts": 0 if by_scheduler else 1,
    }


@lru_cache(maxsize=1)
def _insert_row_stmt():
    """The row's INSERT, built once (an ORM object and its flush cost about 800 Python calls
    per booking)."""
    table = cast(Table, OutboxMail.__table__)
    return insert(table).returning(table.c.id)


def insert_row(values: dict) -> int:
    """Insert the row ``values`` (``draft_row``'s) in the current unit of work; its id."""
    return db.session.connection().execute(_insert_row_stmt(), values).scalar_one()


def written(
    row_id: int, values: dict, known: object | None = None, message: EmailMessage | None = None
) -> None:
    """The row ``values`` (``draft_row``'s) was inserted as ``row_id`` in the current unit of
    work: the committer sends it right after the commit (``message``: the row's, composed)."""
    if values["claimed_until"] is None:  # the scheduler's sender's
        return
    app = app_object()
    kind, draft = values["kind"], values["draft"]
    after_commit(lambda: _deliver_soon(app, row_id, kind, message, draft, known))


def _deliver_soon(
    app,
    row_id: int,
    kind: str,
    message: EmailMessage | None,
    draft: str | None,
    known: object | None = None,
) -> None:
    def job() -> None:
        _send_and_record(row_id, kind, 1, message, draft, clock.real_now(), known)

    if app.config.get("MAIL_ASYNC"):
        mail.run_in_background(app, job)
    else:
        job()


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed try: MAIL_RETRY_SECONDS doubled each time, capped."""
    cfg = current_app.config
    base = float(cfg.get("MAIL_RETRY_SECONDS", 30))
    cap = float(cfg.get("MAIL_RETRY_MAX_SECONDS", 1800))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _claim_lease() -> timedelta:
    """How long a claimed row is left to the process that claimed it: a process killed while
    sending holds its rows this long before another one retries them."""
    lease = current_app.config.get("MAIL_CLAIM_LEASE_SECONDS")
    if lease is None:
        lease = 3 * float(current_app.config.get("MAIL_TIMEOUT", 10)) + 30
    return timedelta(seconds=float(lease))


def _permanent(error: Exception) -> bool:
    """A refusal the server will repeat (5xx for the recipient or the content)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(
        error, smtplib.SMTPServerDisconnected
    ):
        return error.smtp_code >= 500 and error.smtp_code not in (530, 535)  # login: our setup
    return False


def _due(now: datetime):
    return and_(
        OutboxMail.status == OutboxStatus.PENDING,
        OutboxMail.next_attempt_at <= now,
        or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
    )


def _claim(which, now: datetime) -> list:
    """Claim the rows ``which`` selects that are still due (one conditional UPDATE: a row
    another sender claimed first is left out); their id, kind, message, draft and attempts."""
    with db.engine.begin() as conn:
        return list(
            conn.execute(
                update(OutboxMail)
                .where(which, _due(now))
                .values(claimed_until=now + _claim_lease(), attempts=OutboxMail.attempts + 1)
                .returning(
                    OutboxMail.id,
                    OutboxMail.kind,
                    OutboxMail.message,
                    OutboxMail.draft,
                    OutboxMail.attempts,
                )
            )
        )


def _send_claimed(row, now: datetime) -> OutboxStatus | None:
    row_id, kind, data, draft, attempts = row
    if data is None and draft is None:  # delivered meanwhile: both are dropped once it is sent
        return None
    message = message_from_bytes(data, policy=policy.default) if data is not None else None
    return _send_and_record(row_id, kind, attempts, message, draft, now)


def deliver(row_id: int, now: datetime | None = None) -> OutboxStatus | None:
    """Send one outbox row if it is due and nobody else holds it; its new status, or None."""
    now = now or clock.real_now()
    claimed = _claim(OutboxMail.id == row_id, now)
    return _send_claimed(claimed[0], now) if claimed else None


def _send_and_record(
    row_id: int,
    kind: str,
    attempts: int,
    message: EmailMessage | None,
    draft: str | None,
    now: datetime,
    known: object | None = None,
) -> OutboxStatus:
    """Send a row this process holds the claim of (composing its draft first), and record the
    outcome on it."""
    from_draft = message is None
    try:
        if message is None:
            message = compose_draft(draft or "", known)
        mail.send(message)
    except Obsolete as reason:
        log.info("mail %s (%s) not sent: %s", row_id, kind, reason)
        _record(
            row_id,
            status=OutboxStatus.SUPERSEDED,
            last_error=f"superseded: {reason}"[:500],
            draft=None,
        )
        _count(kind, "superseded")
        return OutboxStatus.SUPERSEDED
    except Exception as error:  # every failure is recorded on the row, never raised
        # a retry sends these very bytes (same Date, same attachments); written only now, as
        # serialising a message costs as much as a third of composing it
        composed = _composed(message) if from_draft else {}
        status = OutboxStatus.REJECTED if _permanent(error) else OutboxStatus.PENDING
        detail = f"{error.__class__.__name__}: {error}"[:500]
        wait = backoff(attempts)
        log.warning(
            "mail %s (%s) not sent, attempt %d: %s; %s",
            row_id,
            kind,
            attempts,
            detail,
            "rejected for good" if status == OutboxStatus.REJECTED else f"retry in {wait}",
        )
        _record(row_id, status=status, last_error=detail, next_attempt_at=now + wait, **composed)
        _count(kind, "rejected" if status == OutboxStatus.REJECTED else "failed")
        return status
    _record(
        row_id,
        status=OutboxStatus.SENT,
        sent_at=clock.real_now(),
        last_error=None,
        message=None,  # personal data: kept only until it is delivered
        draft=None,
    )
    _count(kind, "sent")
    return OutboxStatus.SENT


def _record(row_id: int, **values) -> None:
    """The outcome of an attempt on the row, whose claim ends with it."""
    with db.engine.begin() as conn:
        conn.execute(
            update(OutboxMail).where(OutboxMail.id == row_id).values(claimed_until=None, **values)
        )


def _composed(message: EmailMessage | None) -> dict:
    """The row's values that keep a message composed from a draft for its retries."""
    if message is None:  # composing failed: the draft stays
        return {}
    try:
        return {"message": bytes(message), "draft": None}
    except Exception:
        log.exception("a composed mail could not be serialised; its draft stays")
        return {}


def _count(kind: str, outcome: str) -> None:
    metrics.count_mail(kind, outcome)


def send_due(now: datetime | None = None, limit: int = 200) -> list[OutboxStatus | None]:
    """Claim what is due, oldest first, in one statement, and send it in that order (the
    scheduler's mail sender; the job adds the retention purge)."""
    now = now or clock.real_now()
    oldest_due = select(OutboxMail.id).where(_due(now)).order_by(OutboxMail.id).limit(limit)
    claimed = _claim(OutboxMail.id.in_(oldest_due.scalar_subquery()), now)
    return [_send_claimed(row, now) for row in sorted(claimed)]


def deliver_due(now: datetime | None = None, limit: int = 200) -> dict:
    """Send what is due (oldest first); delete sent rows past the retention. For the job."""
    now = now or clock.real_now()
    db.session.commit()  # end any read: deliveries use their own transactions
    outcomes = send_due(now, limit)
    with db.engine.begin() as conn:
        purged = conn.execute(
            delete(OutboxMail).where(
                OutboxMail.status != OutboxStatus.PENDING,
                OutboxMail.created_at < now - timedelta(days=SENT_RETENTION_DAYS),
            )
        ).rowcount
    return {
        "sent": outcomes.count(OutboxStatus.SENT),
        "failed": outcomes.count(OutboxStatus.PENDING),
        "rejected": outcomes.count(OutboxStatus.REJECTED),
        "superseded": outcomes.count(OutboxStatus.SUPERSEDED),
        "pending": pending_count(),
        "purged": purged,
    }


def pending_count() -> int:
    return (
        db.session.scalar(select(func.count()).where(OutboxMail.status == OutboxStatus.PENDING))
        or 0
    )


def summary(now: datetime | None = None) -> dict:
    """What the jobs page and the metrics show: pending, oldest pending, sent and failed."""
    now = now or clock.real_now()
    pending, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMail.created_at)).where(
            OutboxMail.status == OutboxStatus.PENDING
        )
    ).one()
    day_ago = now - timedelta(days=1)
    sent_today = db.session.scalar(
        select(func.count()).where(
            and_(OutboxMail.status == OutboxStatus.SENT, OutboxMail.sent_at >= day_ago)
        )
    )
    rejected = db.session.scalar(
        select(func.count()).where(OutboxMail.status == OutboxStatus.REJECTED)
    )
    last_error = db.session.scalar(
        select(OutboxMail.last_error)
        .where(OutboxMail.status != OutboxStatus.SENT, OutboxMail.last_error.is_not(None))
        .order_by(OutboxMail.id.desc())
        .limit(1)
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return {
        "pending": pending or 0,
        "oldest_pending_seconds": (now - oldest).total_seconds() if oldest else 0.0,
        "sent_last_day": sent_today or 0,
        "rejected": rejected or 0,
        "last_error": last_error,
    }


def _figures() -> list[Metric]:
    """The outbox in /metrics: mails not delivered yet, the oldest one's age, the refused ones."""
    mail = summary()
    return [
        GaugeMetricFamily(
            "qs_mail_outbox_pending", "Mails in the outbox not delivered yet", value=mail["pending"]
        ),
        GaugeMetricFamily(
            "qs_mail_outbox_oldest_seconds",
            "Age of the oldest undelivered mail (0: none)",
            value=mail["oldest_pending_seconds"],
        ),
        GaugeMetricFamily(
            "qs_mail_outbox_rejected", "Mails the server refused for good", value=mail["rejected"]
        ),
    ]


metrics.register_database_figures("mail_outbox", _figures)
