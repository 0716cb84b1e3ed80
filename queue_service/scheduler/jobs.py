"""The scheduled jobs. Each is a thin wrapper: the runner has pushed the app context and claimed
the occurrence; the job selects ids, calls a service and returns a summary for the admin page.

Add a job with one line at the bottom. Jobs from tickets and booking (end-of-day close, no-shows,
reminders, slot release, retention purge, statistics roll-up) belong here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import clock
from ..booking import jobs as booking_jobs
from ..management.messages import expire_office_message
from ..notify import outbox, turn_alerts
from ..offices.messages import expired_message_ids
from ..stats import jobs as stats_jobs
from ..waitlist import services as waitlist
from . import runner
from .registry import daily_at, every, register_job


def expire_office_messages(scheduled_for: datetime) -> dict:
    """Ticker messages past their end leave the displays."""
    ids = expired_message_ids(clock.now())
    return {"expired": sum(expire_office_message(message_id) for message_id in ids)}


def purge_job_runs(scheduled_for: datetime) -> dict:
    """The job history keeps 30 days; runs whose process died are marked abandoned."""
    return runner.purge_old_runs(scheduled_for)  # job runs are kept in machine time


register_job(
    "expire_office_messages",
    expire_office_messages,
    every(minutes=5),
    _l("Remove ticker messages past their end from the displays"),
)
register_job(
    "purge_job_runs",
    purge_job_runs,
    daily_at("04:15"),
    _l("Delete the history of scheduled jobs older than 30 days"),
)
register_job(
    "close_day",
    stats_jobs.close_day,
    daily_at("20:30"),
    _l("Close the queue of the day in every office with tickets today"),
)
register_job(
    "stats_rollup",
    stats_jobs.stats_rollup,
    daily_at("03:30"),
    _l("Roll up yesterday's statistics (no personal data)"),
)


# ---------------------------------------------------------------- online booking


def expire_booking_holds(scheduled_for: datetime) -> dict:
    """Holds and unconfirmed bookings past their expiry are marked expired (tidiness only:
    an expired hold already stopped counting against capacity at its expiry time)."""
    return {"expired": booking_jobs.expire_holds()}


def mark_appointment_no_shows(scheduled_for: datetime) -> dict:
    """Confirmed appointments whose check-in window closed without a check-in become no-shows."""
    return {"no_shows": booking_jobs.mark_overdue_no_shows()}


def send_appointment_reminders(scheduled_for: datetime) -> dict:
    """Reminder mails for tomorrow's appointments (idempotent per appointment)."""
    return {"reminded": booking_jobs.send_reminders_for(clock.today() + timedelta(days=1))}


def purge_personal_data(scheduled_for: datetime) -> dict:
    """DSGVO retention: personal data of appointments older than PERSONAL_DATA_RETENTION_DAYS
    is removed, and turn alert addresses of past days; statistics (times, services, status)
    stay."""
    days = int(current_app.config["PERSONAL_DATA_RETENTION_DAYS"])
    return {
        "anonymised": booking_jobs.anonymise_appointments_before(
            clock.now() - timedelta(days=days)
        ),
        # a turn alert's address is kept for its ticket's day only, not for the retention period
        "turn_alert_addresses": turn_alerts.purge_turn_alert_addresses(clock.today()),
    }


def purge_free_seats(scheduled_for: datetime) -> dict:
    """Seat rows that became free (expired holds, released cancellations) are deleted."""
    return {"deleted": booking_jobs.purge_stale_seats()}


register_job(
    "expire_booking_holds",
    expire_booking_holds,
    every(minutes=5),
    _l("Mark expired holds and unconfirmed bookings"),
)
register_job(
    "mark_appointment_no_shows",
    mark_appointment_no_shows,
    every(minutes=5),
    _l("Mark appointments without check-in as no-shows"),
)
register_job(
    "send_appointment_reminders",
    send_appointment_reminders,
    daily_at("17:00"),
    _l("Send reminder mails for tomorrow's appointments"),
)
register_job(
    "purge_personal_data",
    purge_personal_data,
    daily_at("03:15"),
    _l("Delete personal data of past appointments (retention period)"),
)
register_job(
    "purge_free_seats",
    purge_free_seats,
    daily_at("04:30"),
    _l("Delete freed seat rows of the booking calendar"),
)


# ---------------------------------------------------------------- waitlist


def offer_waitlist_times(scheduled_for: datetime) -> dict:
    """Unanswered offers lapse and go to the next in line; free times found for the
    longest-waiting requests are offered; requests past their range end."""
    return {
        "lapsed": waitlist.lapse_offers(),
        "offered": waitlist.offer_free_capacity(),
        "ended": waitlist.expire_requests(),
    }


def purge_waitlist_personal_data(scheduled_for: datetime) -> dict:
    """DSGVO retention: ended waitlist requests lose name, e-mail and phone."""
    days = int(current_app.config["PERSONAL_DATA_RETENTION_DAYS"])
    return {"anonymised": waitlist.anonymise_ended_before(clock.now() - timedelta(days=days))}


register_job(
    "offer_waitlist_times",
    offer_waitlist_times,
    every(minutes=2),
    _l("Offer free times to the waitlist; lapse unanswered offers"),
)
register_job(
    "purge_waitlist_personal_data",
    purge_waitlist_personal_data,
    daily_at("03:20"),
    _l("Delete personal data of ended waitlist requests (retention period)"),
)


def send_mail_outbox(scheduled_for: datetime) -> dict:
    """Mails the mail server did not take yet (an outage) are sent again, with backoff."""
    return outbox.deliver_due()


register_job(
    "send_mail_outbox",
    send_mail_outbox,
    every(minutes=1),
    _l("Send mails that could not be delivered yet (retried with increasing waits)"),
)


# ---------------------------------------------------------------- turn alerts


def send_turn_alert_mails(scheduled_for: datetime) -> dict:
    """Visitors who asked for a mail when at most N people are ahead get it (once per ticket)."""
    return {"written": turn_alerts.send_turn_alert_mails()}


register_job(
    "send_turn_alert_mails",
    send_turn_alert_mails,
    every(minutes=1),
    _l("Mail visitors whose turn is near (the alert they set on their ticket's page)"),
)
