"""Language selection and the translation catalogues (German first, English complete)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, g, has_request_context, request, session
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TRANSLATION_DIRS = [
    ROOT / "queue_service" / "translations",
    ROOT / "kiosk" / "translations",
    ROOT / "display" / "translations",
    ROOT / "admin" / "translations",
]

LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
}
RTL_LANGUAGES = {"ar", "fa"}


def compile_catalogues() -> None:
    """Compile every messages.po to messages.mo when the .mo is missing or older."""
    for directory in TRANSLATION_DIRS:
        for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            try:
                with po_path.open("rb") as fh:
                    catalog = read_po(fh)
                with mo_path.open("wb") as fh:
                    write_mo(fh, catalog)
            except OSError:
                log.warning("could not compile %s (read-only install?)", po_path)


def translation_directories() -> str:
    return ";".join(str(d) for d in TRANSLATION_DIRS if d.exists())


def select_locale() -> str:
    """?lang= (remembered in the session), else the browser's preference, else German."""
    languages = current_app.config["LANGUAGES"]
    if getattr(g, "forced_locale", None) in languages:
        return g.forced_locale
    if not has_request_context():  # jobs and commands: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.environ.get("QUERY_STRING"):  # no query string, no ?lang= (nothing to parse)
        asked = request.args.get("lang")
        if asked is not None and asked in languages:
            session["lang"] = asked
            return asked
    remembered = session.get("lang")
    if isinstance(remembered, str) and remembered in languages:
        return remembered
    return (
        _preferred(request.environ.get("HTTP_ACCEPT_LANGUAGE", ""), tuple(languages))
        or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


@lru_cache(maxsize=256)
def _preferred(accept_language: str, languages: tuple[str, ...]) -> str | None:
    # the best match of a header's value, the same for every request that sends it (browsers
    # send a handful of different values; parsing one took about 30 Python calls a request)
    return parse_accept_header(accept_language, LanguageAccept).best_match(languages)


def request_locale() -> Locale:
    """``select_locale()`` as Flask-Babel's locale selector: one ``Locale`` per language,
    parsed once (Flask-Babel parsed the code on every request, about 35 Python calls)."""
    return _locale(select_locale())


@lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def format_number(value: float | int | None, empty: str = "–") -> str:
    """A figure in the current language: German "3" and "2,5" (never "3.0" or "2.5")."""
    if value is None:
        return empty
    from flask_babel import format_decimal

    return format_decimal(value)


def format_day(value, form: str = "medium") -> str:
    """A date in the current language (German "26.11.2026")."""
    from flask_babel import format_date

    return format_date(value, form)
