"""GET /api/v1/tickets/{token}/pdf read back by real readers: pypdf for the text, pdfium + zxing-cpp
for the QR code, whose URL must serve the ticket's status page."""

from __future__ import annotations

import unicodedata
from io import BytesIO
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader

MM = 72 / 25.4


def issue(client, kiosk_token, service="PA", **body):
    response = client.post(
        "/api/v1/offices/aegi/tickets",
        json={"service": service, **body},
        headers={"X-Device-Token": kiosk_token},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pdf_text(pdf: bytes) -> str:
    (page,) = PdfReader(BytesIO(pdf)).pages
    return " ".join(page.extract_text().split())


def pdfium_text(pdf: bytes) -> str:
    """The text as PDFium (Chromium's PDF engine) reads it: in reading order, right to left too."""
    page = pdfium.PdfDocument(pdf)[0]
    text = page.get_textpage().get_text_range()
    return " ".join(unicodedata.normalize("NFKC", text).split())


def qr_codes(pdf: bytes, dpi: int = 203) -> list[str]:
    image = pdfium.PdfDocument(pdf)[0].render(scale=dpi / 72).to_pil()
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def test_the_pdf_holds_number_service_and_office_and_its_qr_opens_the_status_page(
    client, kiosk_token
):
    issue(client, kiosk_token)
    ticket = issue(client, kiosk_token)
    response = client.get(urlsplit(ticket["pdf_url"]).path)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="ticket-P002.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    for expected in (
        "P002",
        "Personalausweis beantragen",
        "Bürgeramt Aegi",
        "Aegidientorplatz 1",
        "26.11.2026, 10:00 Uhr",
        "1 Person",
        "ca. 15 Min.",
    ):
        assert expected in text, (expected, text)
    (url,) = qr_codes(response.data)
    assert url == ticket["status_url"]
    status = client.get(urlsplit(url).path)
    assert status.status_code == 200 and "P002" in status.get_data(as_text=True)


def test_the_language_decides_the_printed_words_and_the_service_name(client, kiosk_token):
    ticket = issue(client, kiosk_token)
    path = urlsplit(ticket["pdf_url"]).path
    english = pdf_text(client.get(path + "?lang=en").data)
    assert "Apply for an identity card" in english and "Your number" in english
    turkish = pdf_text(client.get(path + "?lang=tr").data)
    assert "Kimlik kartı başvurusu" in turkish and "Sıra numaranız" in turkish
    ukrainian = pdf_text(client.get(path + "?lang=uk").data)
    assert "Заява на посвідчення особи" in ukrainian
    # Arabic is printed in Arabic (shaped, right to left; PDFium reads it back in logical order)
    arabic = pdfium_text(client.get(path + "?lang=ar").data)
    assert "طلب بطاقة هوية شخصية" in arabic and "رقمك" in arabic and "Your number" not in arabic


def test_paper_sizes_and_bad_parameters(client, kiosk_token):
    path = urlsplit(issue(client, kiosk_token)["pdf_url"]).path
    for paper, width in (("80mm", 80), ("58mm", 58), ("a6", 105)):
        box = PdfReader(BytesIO(client.get(f"{path}?paper={paper}").data)).pages[0].mediabox
        assert round(float(box.width) / MM) == width
    for query, field in (("?paper=a4", "paper"), ("?lang=fr", "lang")):
        response = client.get(path + query)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        assert response.get_json()["field"] == field
    missing = client.get("/api/v1/tickets/not-a-ticket/pdf")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_a_called_ticket_prints_nobody_ahead_and_a_finished_one_no_wait_at_all(
    client, kiosk_token, clerk
):
    from queue_service.tickets import services as q

    ticket = issue(client, kiosk_token)
    path = urlsplit(ticket["pdf_url"]).path
    q.call_next("aegi", 1, actor=clerk)
    assert "Vor Ihnen niemand Wartezeit gleich" in pdf_text(client.get(path).data)
    q.start_serving(ticket["token"], actor=clerk)
    q.finish_ticket(ticket["token"], actor=clerk)
    text = pdf_text(client.get(path).data)
    assert "P001" in text and "Vor Ihnen" not in text and "Wartezeit gleich" not in text
