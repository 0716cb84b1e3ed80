"""Sending e-mail: MAIL_BACKEND = "smtp" | "folder" | "console" | "memory" (tests).

Services do not send: they put the composed message into the outbox (``notify.outbox``) in
their own transaction, and the outbox delivers it here after the commit. With MAIL_ASYNC (the
default) that delivery runs on one background sender thread per process, so a booking never
waits for the mail server (or for its 10-second timeout when it is down); the thread drains its
queue when the process exits normally. A failed send stays in the outbox and is retried.
"""

from __future__ import annotations

import atexit
import logging
import queue
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app

from .. import clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inline:
    """An image shown inside the HTML part (referenced as cid:<cid>)."""

    cid: str
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()


class _MailPolicy(EmailPolicy):
    """The standard policy, except that a non-ASCII subject is written as encoded words only.

    The standard folder breaks a long subject before an encoded word and keeps the space in
    front of the break as well, so readers show two spaces ("09:00,  Bürgeramt Aegi"). Between
    encoded words the readers drop the whitespace, and the spaces inside are encoded.
    """

    def _encoded_subject(self, name: str, value: str) -> str | None:
        if name.lower() != "subject" or str(value).isascii():
            return None
        encoded = Header(str(value), "utf-8", header_name=name).encode(linesep=self.linesep)
        return f"{name}: {encoded}{self.linesep}"

    def fold(self, name, value):
        return self._encoded_subject(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = self._encoded_subject(name, value)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy()


def mail_folder() -> Path:
    folder = current_app.config.get("MAIL_FOLDER") or str(Path(current_app.instance_path) / "mail")
    return Path(folder)


def describe_backend() -> str:
    """Where mail goes, in one line (printed by the demo command)."""
    cfg = current_app.config
    backend = cfg["MAIL_BACKEND"]
    if backend == "folder":
        return f"written as .eml files to {mail_folder()}"
    if backend == "smtp":
        return f"sent through SMTP {cfg['MAIL_SERVER']}:{cfg['MAIL_PORT']}"
    if backend == "console":
        return "printed to the server log"
    return f"kept in memory ({backend})"


def message_id(sender: str) -> str:
    """A new Message-ID on the sender's domain."""
    return make_msgid(domain=sender.rsplit("@", 1)[-1].strip(" >") or "localhost")


def compose(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    inline: list[Inline] | None = None,
    attachments: list[Attachment] | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    sender = current_app.config["MAIL_FROM"]
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = message_id(sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = list(message.iter_parts())[-1]
        for image in inline or []:
            html_part.add_related(
                image.data,
                "image",
                image.subtype,
                cid=f"<{image.cid}>",
                disposition="inline",
                filename=f"{image.cid}.{image.subtype}",
            )
    for attachment in attachments or []:
        message.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    return message


def send(message: EmailMessage) -> None:
    """Deliver ``message`` now through the configured backend."""
    cfg = current_app.config
    backend = cfg["MAIL_BACKEND"]
    if backend == "smtp":
        _send_smtp(message, cfg)
    elif backend == "folder":
        folder = mail_folder()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
        ident = message["Message-ID"].strip("<>").split("@", 1)[0]
        path = folder / f"{stamp}-{ident}.eml"
        path.write_bytes(bytes(message))
        log.info("mail %s written to %s", message["Message-ID"], path)
    elif backend == "console":
        log.info(
            "mail to %s: %s\n%s",
            message["To"],
            message["Subject"],
            _plain_text(message),
        )
    elif backend == "memory":
        current_app.extensions.setdefault("mail_outbox", []).append(message)
    else:
        raise ValueError(f"Unknown MAIL_BACKEND {backend!r} (smtp, folder, console, memory)")


def _send_smtp(message: EmailMessage, cfg) -> None:
    host, port, timeout = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), float(cfg["MAIL_TIMEOUT"])
    if cfg.get("MAIL_USE_SSL"):
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            client.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            client.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        client.send_message(message)
    log.info("mail %s sent through %s:%s", message["Message-ID"], host, port)


class _Sender:
    """One daemon thread per process that runs queued mail deliveries in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=10_000)
        self.thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self.thread.start()
        atexit.register(self.drain)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                break
            app, job = item
            try:
                with app.app_context():
                    job()
            except Exception:  # logged, never raised: the booking is committed
                log.exception("could not send a mail")
            finally:
                self.queue.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            return
        self.thread.join(timeout)


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def run_in_background(app, job: Callable[[], object]) -> None:
    """Run ``job`` in an app context on this process's sender thread (in order)."""
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.thread.is_alive():
            _sender = _Sender()
    try:
        _sender.queue.put_nowait((app, job))
    except queue.Full:
        # the job stays in the outbox and the scheduler retries it
        log.error("mail sender queue full; left to the outbox job")


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return body.get_content() if body is not None else ""
