"""Printed tickets read back by real readers: pypdf for the text, pdfium + zxing-cpp for the QR."""

from __future__ import annotations

import ast
import unicodedata
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader

from queue_service.printing import PAPERS, TicketPrint, render_ticket_pdf
from queue_service.printing import fonts as ticket_fonts
from queue_service.printing import ticket as ticket_module

STATUS_URL = "https://termine.hannover.de/t/Ab3dEf6hIj9kLmN0pQr5tUv8wXyZ12_-"
MM = 72 / 25.4


def sample(**changes) -> TicketPrint:
    values = dict(
        number="F042",
        service_name="Führerschein: Umtausch und Ersatz",
        office_name="Bürgeramt Döhren",
        office_address="Peiner Straße, 30519 Hannover",
        issued_at=datetime(2026, 11, 26, 9, 7, tzinfo=UTC),  # 10:07 in Hannover
        people_ahead=3,
        estimated_wait_minutes=25,
        status_url=STATUS_URL,
    )
    values.update(changes)
    return TicketPrint(**values)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def page_size_mm(pdf: bytes) -> tuple[float, float]:
    box = PdfReader(BytesIO(pdf)).pages[0].mediabox
    return float(box.width) / MM, float(box.height) / MM


def decoded_qr_codes(pdf: bytes, dpi: int = 203) -> list[str]:
    """Rasterise the page like a thermal printer (203 dpi) and decode every QR code on it."""
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=dpi / 72).to_pil()
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def qr_width_mm(pdf: bytes, dpi: int = 203) -> float:
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=dpi / 72).to_pil()
    (result,) = zxingcpp.read_barcodes(image)
    xs = [result.position.top_left.x, result.position.top_right.x]
    return (max(xs) - min(xs)) / dpi * 25.4


@pytest.mark.parametrize("paper", ["80mm", "58mm", "a6"])
def test_ticket_text_reads_back_with_umlauts_and_qr_decodes_to_status_url(paper):
    pdf = render_ticket_pdf(sample(), paper)
    text = text_of(pdf)
    for expected in (
        "F042",
        "Bürgeramt Döhren",
        "Führerschein",
        "Peiner Straße",
        "26.11.2026",
        "10:07",
        "3 Personen",
        "ca. 25 Min.",
        "Scannen Sie den Code, um Ihre Wartezeit live zu sehen.",
    ):
        assert expected in " ".join(text.split()), (expected, text)
    assert decoded_qr_codes(pdf) == [STATUS_URL]


@pytest.mark.parametrize(("paper", "width"), [("80mm", 80), ("58mm", 58), ("a6", 105)])
def test_page_has_the_paper_width_and_a_roll_is_as_tall_as_its_content(paper, width):
    short = render_ticket_pdf(sample(office_address=None, people_ahead=None), paper)
    long = render_ticket_pdf(
        sample(service_name="Ein sehr langer Name eines Anliegens " * 3), paper
    )
    (w_short, h_short), (w_long, h_long) = page_size_mm(short), page_size_mm(long)
    assert round(w_short) == round(w_long) == width
    if paper == "a6":
        assert round(h_short) == round(h_long) == 148
    else:
        assert 90 < h_short < h_long < 250


def test_qr_code_is_at_least_30_mm_on_80_mm_paper():
    assert qr_width_mm(render_ticket_pdf(sample(), "80mm")) >= 30


def test_english_ticket_uses_english_words():
    text = " ".join(text_of(render_ticket_pdf(sample(lang="en"))).split())
    assert "Scan the code to follow your wait live." in text
    assert "Your number" in text and "3 people" in text and "about 25 min" in text
    assert "26 Nov 2026, 10:07" in text


def test_time_is_printed_in_hannover_local_time_across_the_dst_change():
    # 25 October 2026: clocks go back at 03:00 CEST -> 02:00 CET
    before = sample(issued_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    after = sample(issued_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert "25.10.2026, 02:30 Uhr" in text_of(render_ticket_pdf(before))
    assert "25.10.2026, 02:30 Uhr" in text_of(render_ticket_pdf(after))
    winter = sample(issued_at=datetime(2026, 11, 26, 23, 30, tzinfo=UTC))
    assert "27.11.2026, 00:30 Uhr" in text_of(render_ticket_pdf(winter))


@pytest.mark.parametrize(
    ("lang", "phrases"),
    [
        ("tr", ["Sıra numaranız", "3 kişi", "yaklaşık 25 dk.", "kodu tarayın"]),
        ("uk", ["Ваш номер", "3 особи", "бл. 25 хв", "Відскануйте код"]),
    ],
)
def test_turkish_and_ukrainian_tickets_embed_a_unicode_font(lang, phrases):
    if ticket_fonts.embedded_fonts() is None:
        pytest.skip("DejaVu fonts (fonts-dejavu-core) are not installed")
    pdf = render_ticket_pdf(sample(lang=lang))
    text = " ".join(text_of(pdf).split())
    for phrase in phrases:
        assert phrase in text
    assert b"/FontFile2" in pdf  # an embedded TrueType font
    assert decoded_qr_codes(pdf) == [STATUS_URL]


def test_german_and_english_tickets_use_the_standard_font_and_stay_small():
    pdf = render_ticket_pdf(sample())
    assert b"/FontFile2" not in pdf and b"/Helvetica-Bold" in pdf
    assert len(pdf) < 8000


def test_text_outside_latin_1_switches_to_the_embedded_font():
    if ticket_fonts.embedded_fonts() is None:
        pytest.skip("DejaVu fonts (fonts-dejavu-core) are not installed")
    pdf = render_ticket_pdf(sample(office_name="Bürgeramt Gülşen Ağaç"))
    assert b"/FontFile2" in pdf
    assert "Bürgeramt Gülşen Ağaç" in text_of(pdf)


def test_without_dejavu_german_prints_in_helvetica_and_turkish_falls_back_to_english(monkeypatch):
    monkeypatch.setattr(ticket_module, "embedded_fonts", lambda: None)
    monkeypatch.setattr(ticket_fonts, "embedded_fonts", lambda: None)
    german = render_ticket_pdf(sample())
    assert b"/FontFile2" not in german and "Bürgeramt Döhren" in text_of(german)
    turkish = " ".join(text_of(render_ticket_pdf(sample(lang="tr"))).split())
    assert "Your number" in turkish and "Scan the code to follow your wait live." in turkish


def logical_lines(pdf: bytes, left: float = 0, right: float | None = None) -> list[str]:
    """The lines of a ticket in reading order as PDFium (Chromium's PDF engine) extracts them,
    optionally only between ``left`` and ``right`` (points); the extractor gives the joined
    letter forms that were drawn, NFKC maps each back to its letter."""
    page = pdfium.PdfDocument(pdf)[0]
    width, _ = page.get_size()
    text = page.get_textpage().get_text_bounded(left=left, right=width if right is None else right)
    return [unicodedata.normalize("NFKC", line).strip() for line in text.splitlines()]


def test_arabic_tickets_print_in_arabic_with_joined_letters_right_to_left():
    pdf = render_ticket_pdf(
        sample(
            lang="ar",
            service_name="طلب بطاقة هوية شخصية",
            people_ahead=3,
            estimated_wait_minutes=25,
            kind="appointment",
        )
    )
    assert b"/FontFile2" in pdf  # the font with the Arabic glyphs travels inside the PDF
    raw = text_of(pdf)
    assert "F042" in raw and "Your number" not in raw
    # the letters are drawn in their joined forms (presentation forms), not as isolated letters
    assert any(0xFE70 <= ord(ch) <= 0xFEFF for ch in raw)
    lines = logical_lines(pdf)
    for phrase in (
        "رقمك",  # your number
        "بموعد",  # with appointment
        "طلب بطاقة هوية شخصية",  # the service
        "أمامك",  # ahead of you
        "3 أشخاص",  # 3 persons
        "حوالي 25 دقيقة",  # about 25 minutes
        "امسح الرمز لمتابعة وقت انتظارك مباشرة.",
    ):
        assert any(phrase in line for line in lines), (phrase, lines)
    # right to left: the label stands at the right edge, its value at the left
    width = PAPERS["80mm"].width
    assert "أمامك" in logical_lines(pdf, left=width / 2)
    assert "3 أشخاص" in logical_lines(pdf, right=width / 2)


def test_arabic_wait_wording_and_persons():
    lines = logical_lines(render_ticket_pdf(sample(lang="ar", estimated_wait_minutes=1, persons=2)))
    assert any("قريبا جدا" in line for line in lines), lines  # printed without vowel marks
    assert "لشخصين" in lines, lines  # the dual: "for two persons", not "for 2 persons" (plural)
    lines = logical_lines(render_ticket_pdf(sample(lang="ar", persons=3)))
    assert "لـ 3 أشخاص" in lines, lines


def test_appointment_ticket_says_so_and_walk_in_ticket_does_not():
    assert "Mit Termin" in text_of(render_ticket_pdf(sample(kind="appointment")))
    assert "Termin" not in text_of(render_ticket_pdf(sample(kind="walkin")))


def test_people_ahead_and_wait_wording():
    text = " ".join(
        text_of(render_ticket_pdf(sample(people_ahead=0, estimated_wait_minutes=0))).split()
    )
    assert "Vor Ihnen niemand" in text and "Wartezeit gleich" in text
    text = " ".join(
        text_of(render_ticket_pdf(sample(people_ahead=1, estimated_wait_minutes=80))).split()
    )
    assert "1 Person " in text + " " and "ca. 1 Std. 20 Min." in text


def test_unknown_values_are_left_out_rather_than_guessed():
    text = text_of(render_ticket_pdf(sample(people_ahead=None, estimated_wait_minutes=None)))
    assert "Vor Ihnen" not in text and "Wartezeit" not in text.replace("Ihre Wartezeit", "")


@pytest.mark.parametrize("paper", sorted(PAPERS))
def test_large_print_is_taller_and_still_scans(paper):
    normal, large = (
        render_ticket_pdf(sample(), paper),
        render_ticket_pdf(sample(large_print=True), paper),
    )
    if paper != "a6":
        assert page_size_mm(large)[1] > page_size_mm(normal)[1]
    assert decoded_qr_codes(large) == [STATUS_URL]
    assert "Bürgeramt Döhren" in text_of(large)


def test_long_status_url_still_decodes():
    url = "https://buergerservice.hannover.de/tickets/status/" + "x" * 120
    assert decoded_qr_codes(render_ticket_pdf(sample(status_url=url))) == [url]


def test_walk_in_ticket_view_object_has_no_field_for_personal_data():
    fields = set(TicketPrint.__dataclass_fields__)
    assert not fields & {"name", "first_name", "last_name", "email", "phone", "birth_date"}


@pytest.mark.parametrize(
    "changes",
    [
        {"issued_at": datetime(2026, 11, 26, 10, 0)},  # naive
        {"lang": "fr"},
        {"kind": "vip"},
        {"number": " "},
        {"status_url": "javascript:alert(1)"},
        {"people_ahead": -1},
        {"timezone": "Europe/Hanover"},
    ],
)
def test_invalid_view_objects_are_refused(changes):
    with pytest.raises(ValueError):
        sample(**changes)


def test_unknown_paper_is_refused():
    with pytest.raises(ValueError, match="80mm"):
        render_ticket_pdf(sample(), "a4")


def test_the_printing_package_never_imports_flask():
    package = Path(ticket_module.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("flask", "queue_service")), (
                    f"{module.name} imports {name}"
                )


def test_a_wait_of_a_minute_or_less_reads_very_soon_as_on_the_kiosk_and_the_phone():
    from queue_service.printing.strings import SOON_MINUTES

    assert SOON_MINUTES == 1
    for minutes in (0, 1):
        text = " ".join(text_of(render_ticket_pdf(sample(estimated_wait_minutes=minutes))).split())
        assert "Wartezeit gleich" in text and "Min." not in text
    text = " ".join(text_of(render_ticket_pdf(sample(estimated_wait_minutes=2))).split())
    assert "Wartezeit ca. 2 Min." in text
