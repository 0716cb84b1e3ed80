"""The printed words of a ticket in each language (a plain dict: no Flask-Babel in a pure module).

German and English are complete. Turkish, Ukrainian and Arabic were written by the developer and
should be checked by a native speaker before go-live. reportlab draws letters one by one, left to
right: Arabic is shaped (arabic-reshaper joins the letters into their contextual forms) and put
into visual order (python-bidi) line by line before it is drawn (``visual``).
"""

from __future__ import annotations

from datetime import datetime

LANGUAGES = ("de", "en", "tr", "ar", "uk")
# One wording for a wait that is (nearly) over, on the kiosk, the paper, the phone and the desk:
# an estimate of at most this many minutes is "very soon" ("gleich"), never "about 0 minutes"
# (nor "about 1 minute", which a queue estimate cannot honestly promise).
SOON_MINUTES = 1
# languages whose letters are outside the PDF standard fonts (need an embedded TTF font)
NEEDS_UNICODE_FONT = {"tr", "uk", "ar"}
# languages we cannot print faithfully, printed in English instead (none since Arabic is shaped)
PRINTED_IN_ENGLISH: set[str] = set()
RIGHT_TO_LEFT = {"ar"}

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "title": "Wartemarke {number}",
        "your_number": "Ihre Nummer",
        "appointment": "Mit Termin",
        "issued": "Ausgegeben",
        "ahead": "Vor Ihnen",
        "wait": "Wartezeit",
        "nobody": "niemand",
        "about": "ca. {duration}",
        "soon": "gleich",
        "scan": "Scannen Sie den Code, um Ihre Wartezeit live zu sehen.",
        "watch": "Bitte achten Sie auf die Aufrufanzeige.",
    },
    "en": {
        "title": "Ticket {number}",
        "your_number": "Your number",
        "appointment": "With appointment",
        "issued": "Issued",
        "ahead": "Ahead of you",
        "wait": "Estimated wait",
        "nobody": "nobody",
        "about": "about {duration}",
        "soon": "very soon",
        "scan": "Scan the code to follow your wait live.",
        "watch": "Please watch the display for your number.",
    },
    "tr": {
        "title": "Sıra numarası {number}",
        "your_number": "Sıra numaranız",
        "appointment": "Randevulu",
        "issued": "Alındı",
        "ahead": "Önünüzde",
        "wait": "Tahmini bekleme",
        "nobody": "kimse yok",
        "about": "yaklaşık {duration}",
        "soon": "birazdan",
        "scan": "Bekleme sürenizi canlı takip etmek için kodu tarayın.",
        "watch": "Lütfen numaranız için ekranı takip edin.",
    },
    "uk": {
        "title": "Талон {number}",
        "your_number": "Ваш номер",
        "appointment": "За записом",
        "issued": "Видано",
        "ahead": "Перед вами",
        "wait": "Орієнтовне очікування",
        "nobody": "нікого",
        "about": "бл. {duration}",
        "soon": "зовсім скоро",
        "scan": "Відскануйте код, щоб стежити за своєю чергою в реальному часі.",
        "watch": "Будь ласка, стежте за своїм номером на табло.",
    },
    "ar": {
        "title": "تذكرة {number}",
        "your_number": "رقمك",
        "appointment": "بموعد",
        "issued": "صدرت",
        "ahead": "أمامك",
        "wait": "مدة الانتظار المتوقعة",
        "nobody": "لا أحد",
        "about": "حوالي {duration}",
        "soon": "قريباً جداً",
        "scan": "امسح الرمز لمتابعة وقت انتظارك مباشرة.",
        "watch": "يرجى متابعة شاشة النداء لرؤية رقمك.",
        "persons": "لـ {count} أشخاص",
    },
}
for _lang, _persons in (
    ("de", "für {count} Personen"),
    ("en", "for {count} persons"),
    ("tr", "{count} kişi için"),
    ("uk", "для {count} осіб"),
):
    TEXT[_lang]["persons"] = _persons

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def printed_language(lang: str, unicode_font: bool) -> str:
    """The language the ticket is actually printed in (English where we cannot print ``lang``)."""
    if lang in PRINTED_IN_ENGLISH or (lang in NEEDS_UNICODE_FONT and not unicode_font):
        return "en"
    return lang


def issued(lang: str, moment: datetime) -> str:
    """Date and time of day in the reader's convention (``moment`` already in local time)."""
    if lang == "en":
        return f"{moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}, {moment:%H:%M}"
    if lang == "de":
        return f"{moment:%d.%m.%Y}, {moment:%H:%M} Uhr"
    return f"{moment:%d.%m.%Y}, {moment:%H:%M}"


def persons(lang: str, count: int) -> str:
    """'für 2 Personen', 'لشخصين' ... for the persons who come with one ticket (two or more)."""
    if lang == "ar":  # the dual, then the plural of 3 to 10, then the singular accusative
        if count == 2:
            return "لشخصين"
        return TEXT["ar"]["persons"].format(count=count) if count <= 10 else f"لـ {count} شخصًا"
    return TEXT[lang]["persons"].format(count=count)


def people(lang: str, count: int) -> str:
    """'3 Personen', '1 person', 'нікого' ... for the number of people ahead."""
    if count == 0:
        return TEXT[lang]["nobody"]
    if lang == "de":
        return f"{count} Person" if count == 1 else f"{count} Personen"
    if lang == "en":
        return f"{count} person" if count == 1 else f"{count} people"
    if lang == "tr":
        return f"{count} kişi"
    if lang == "ar":
        if count == 1:
            return "شخص واحد"
        if count == 2:
            return "شخصان"
        return f"{count} أشخاص" if count <= 10 else f"{count} شخصًا"
    if lang == "uk":
        if count % 10 == 1 and count % 100 != 11:
            return f"{count} особа"
        if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
            return f"{count} особи"
        return f"{count} осіб"
    raise KeyError(lang)


_UNITS = {
    "de": ("Std.", "Min."),
    "en": ("h", "min"),
    "tr": ("sa.", "dk."),
    "uk": ("год", "хв"),
    "ar": ("ساعة", "دقيقة"),
}


def wait(lang: str, minutes: int) -> str:
    """'ca. 25 Min.', 'about 1 h 20 min', 'gleich' ... for an estimated wait."""
    if minutes <= SOON_MINUTES:
        return TEXT[lang]["soon"]
    hour_unit, minute_unit = _UNITS[lang]
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        duration = f"{hours} {hour_unit} {rest} {minute_unit}"
    elif hours:
        duration = f"{hours} {hour_unit}"
    else:
        duration = f"{rest} {minute_unit}"
    return TEXT[lang]["about"].format(duration=duration)


def visual(text: str, lang: str) -> str:
    """``text`` as it is drawn, one glyph after the other from left to right: for a right-to-left
    language shaped (joined letter forms) and in visual order; otherwise unchanged.

    Give one line at a time: reordering a whole paragraph would swap its lines' contents.
    """
    if lang not in RIGHT_TO_LEFT or not text:
        return text
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(text), base_dir="R")
