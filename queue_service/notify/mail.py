"""Sending e-mail: MAIL_BACKEND = "smtp" | "folder" | "console" | "memory" (tests).

Callers queue a message with ``db.after_commit`` so nothing is mailed for a change that was
rolled back; a failed send is logged by the after-commit runner and never undoes the change.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
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


def compose(
    to: str, subject: str, text: str, html: str | None = None,
    inline: list[Inline] | None = None, attachments: list[Attachment] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    sender = current_app.config["MAIL_FROM"]
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]
        for image in inline or []:
            html_part.add_related(image.data, "image", image.subtype, cid=f"<{image.cid}>",
                                  disposition="inline", filename=f"{image.cid}.{image.subtype}")
    for attachment in attachments or []:
        message.add_attachment(attachment.data, maintype=attachment.maintype,
                               subtype=attachment.subtype, filename=attachment.filename,
                               params=dict(attachment.params))
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
        log.info("mail to %s written to %s", message["To"], path)
    elif backend == "console":
        log.info("mail to %s: %s\n%s", message["To"], message["Subject"],
                 message.get_body(("plain",)).get_content())
    elif backend == "memory":
        current_app.extensions.setdefault("mail_outbox", []).append(message)
    else:
        raise ValueError(f"Unknown MAIL_BACKEND {backend!r} (smtp, folder, console, memory)")


def _send_smtp(message: EmailMessage, cfg) -> None:
    host, port, timeout = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), float(cfg["MAIL_TIMEOUT"])
    if cfg.get("MAIL_USE_SSL"):
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            client.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            client.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        client.send_message(message)
    log.info("mail to %s sent through %s:%s", message["To"], host, port)
