"""Outgoing messages: e-mail (SMTP, a folder of .eml files, or the console) and calendar files.
Nothing here knows about appointments; booking/mails.py composes the messages (QR codes come
from printing/qr.py)."""
