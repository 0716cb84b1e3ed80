import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import i18n


def test_every_message_has_a_german_text():
    assert i18n.missing() == []


def test_every_catalogue_holds_every_message_id_of_its_template():
    """An id missing from a catalogue (the ar/tr/uk ones lacked 125 error messages) is shown in
    English there; ``tools/i18n.py update`` adds it, and a translator sees it as untranslated."""
    assert i18n.missing_ids() == []


def test_translations_keep_the_placeholders_of_their_message_id():
    assert i18n.placeholder_problems() == []


def test_a_domain_error_reads_in_the_language_of_the_page():
    """The services' errors reach a Turkish, Arabic or Ukrainian status page or kiosk through
    ``errors.translate``; the catalogues compile at start-up."""
    from flask_babel import force_locale

    from queue_service import create_app
    from queue_service.errors import N_, ValidationFailed

    from .conftest import _test_config

    error = ValidationFailed(N_("persons must be between 1 and %(max)s."), params={"max": 6})
    expected = {
        "de": "persons muss zwischen 1 und 6 liegen.",
        "en": "persons must be between 1 and 6.",
        "tr": "persons 1 ile 6 arasında olmalıdır.",
        "ar": "يجب أن تكون persons بين 1 و6.",
        "uk": "persons має бути від 1 до 6.",
    }
    app = create_app(_test_config("sqlite://"))
    with app.test_request_context("/"):
        for lang, text in expected.items():
            with force_locale(lang):
                assert error.detail == text, lang


def test_the_merged_catalogues_count_in_each_languages_own_plural_forms():
    """Flask-Babel merges the packages' catalogues and keeps the plural rule of the last one; a
    package without the language gave Arabic, Ukrainian and Turkish the English rule ("for one
    person" in Arabic for two persons, English "For 2 persons" in Turkish)."""
    import gettext

    from babel import Locale
    from babel.messages.plurals import get_plural
    from flask_babel import force_locale, get_translations, ngettext

    from queue_service import create_app

    from .conftest import _test_config

    app = create_app(_test_config("sqlite://"))
    with app.test_request_context("/"):
        for lang in ("tr", "ar", "uk"):
            rule = gettext.c2py(get_plural(Locale.parse(lang)).plural_expr)
            with force_locale(lang):
                plural = get_translations().plural
                assert [plural(n) for n in range(25)] == [rule(n) for n in range(25)], lang
        persons = {"tr": "2 kişi için", "ar": "لشخصين", "uk": "Для 2 осіб", "de": "Für 2 Personen"}
        for lang, words in persons.items():
            with force_locale(lang):
                assert ngettext("For %(num)s person", "For %(num)s persons", 2) == words
