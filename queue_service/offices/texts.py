"""Service names and descriptions in any interface language.

German and English come from the catalogue (``Service.name_de/name_en``, editable by staff).
For other languages (the kiosk offers Turkish, Arabic and Ukrainian) the English text is looked
up as a message id in the translation catalogues; the demo catalogue's texts are translated in
``kiosk/service_texts.py``. A service renamed by staff, or one without a translation, is shown
in English: never in a made-up language.
"""

from __future__ import annotations

from typing import overload

from flask_babel import force_locale, gettext

from .models import Service


@overload
def _translated(english: str, lang: str) -> str: ...
@overload
def _translated(english: str | None, lang: str) -> str | None: ...
def _translated(english: str | None, lang: str) -> str | None:
    if not english:
        return english
    with force_locale(lang):
        return gettext(english)


def service_name(service: Service, lang: str) -> str:
    if lang == "de":
        return service.name_de
    if lang == "en":
        return service.name_en
    return _translated(service.name_en, lang)


def service_description(service: Service, lang: str) -> str | None:
    if lang == "de":
        return service.description_de
    if lang == "en":
        return service.description_en
    return _translated(service.description_en, lang)
