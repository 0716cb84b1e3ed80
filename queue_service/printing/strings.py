"""The printed words of a ticket in each language (a plain dict: no Flask-Babel in a pure module).

German and English are complete. Turkish and Ukrainian were written by the developer and should be
checked by a native speaker before go-live. Arabic is printed in English (see ``printed_language``):
reportlab draws Arabic letters unjoined and left to right, which is unreadable.
"""

from __future__ import annotations

from datetime import datetime

LANGUAGES = ("de", "en", "tr", "ar", "uk")
# languages whose letters are outside the PDF standard fonts (need an embedded TTF font)
NEEDS_UNICODE_FONT = {"tr", "uk"}
# languages we cannot print faithfully (shaping and right-to-left), printed in English instead
PRINTED_IN_ENGLISH = {"ar"}

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
        "soon": "незабаром",
        "scan": "Відскануйте код, щоб стежити за своєю чергою в реальному часі.",
        "watch": "Будь ласка, стежте за своїм номером на табло.",
    },
}

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
    if lang == "uk":
        if count % 10 == 1 and count % 100 != 11:
            return f"{count} особа"
        if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
            return f"{count} особи"
        return f"{count} осіб"
    raise KeyError(lang)


_UNITS = {"de": ("Std.", "Min."), "en": ("h", "min"), "tr": ("sa.", "dk."), "uk": ("год", "хв")}


def wait(lang: str, minutes: int) -> str:
    """'ca. 25 Min.', 'about 1 h 20 min', 'gleich' ... for an estimated wait."""
    if minutes <= 0:
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
