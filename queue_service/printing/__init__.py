"""Printing is pure: a small view object in, bytes out (PDF tickets, QR codes). No Flask here."""

from .qr import qr_matrix, qr_png, qr_png_data_uri, qr_svg
from .ticket import PAPERS, TicketPrint, render_ticket_pdf

__all__ = [
    "PAPERS",
    "TicketPrint",
    "qr_matrix",
    "qr_png",
    "qr_png_data_uri",
    "qr_svg",
    "render_ticket_pdf",
]
