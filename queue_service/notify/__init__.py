"""Outgoing messages: e-mail (SMTP, a folder of .eml files, or the console), calendar files and
QR codes. Nothing here knows about appointments; booking/mails.py composes the messages."""
