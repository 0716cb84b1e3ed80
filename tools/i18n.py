"""Keep the translation catalogues in step with the code.

    python tools/i18n.py update [PACKAGE ...]
                                    extract messages of each package (or the named ones) and
                                    merge them into <package>/translations/<lang>/LC_MESSAGES/messages.po
                                    (de, en, and further languages a package has, e.g. kiosk: tr ar uk)
    python tools/i18n.py check      fail if a German text is missing, a catalogue lacks an id of its
                                    template or a translation changes placeholders (used by tests)

Each front end (queue_service, kiosk, display, admin) has its own catalogue, so work on one
package never conflicts with another. Message ids are English; German is the default language.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["queue_service", "kiosk", "display", "admin"]
LANGUAGES = ["de", "en"]


def languages(package: str) -> list[str]:
    """German and English, plus any further language a package has a catalogue for (the kiosk:
    tr, ar, uk); further catalogues are created by hand with ``pybabel init``."""
    directory = ROOT / package / "translations"
    extra = (
        sorted(
            p.name
            for p in directory.glob("*")
            if (p / "LC_MESSAGES").is_dir() and p.name not in LANGUAGES
        )
        if directory.is_dir()
        else []
    )
    return LANGUAGES + extra


def update(packages: list[str] | None = None) -> None:
    for package in packages or PACKAGES:
        pot = ROOT / package / "translations" / "messages.pot"
        pot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                "extract",
                "-F",
                str(ROOT / "babel.cfg"),
                "-k",
                "_l",
                "-k",
                "lazy_gettext",
                "-k",
                "N_plural:1,2",
                "--no-location",
                "--sort-output",
                "-o",
                str(pot),
                str(ROOT / package),
            ],
            check=True,
            cwd=ROOT,
        )
        for lang in languages(package):
            po = pot.parent / lang / "LC_MESSAGES" / "messages.po"
            command = "update" if po.exists() else "init"
            args = [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                command,
                "-i",
                str(pot),
                "-d",
                str(pot.parent),
                "-l",
                lang,
            ]
            if command == "update":
                args.append("--no-fuzzy-matching")
            subprocess.run(args, check=True, cwd=ROOT)


def missing() -> list[str]:
    """Untranslated or fuzzy German messages, and message ids that two catalogues translate
    differently (at run time all catalogues merge into one, so the last one would win)."""
    from babel.messages.pofile import read_po

    problems = []
    seen: dict[str, tuple[str, str]] = {}
    for package in PACKAGES:
        po = ROOT / package / "translations" / "de" / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        for message in catalog:
            if message.id and message.string and not message.pluralizable:
                other = seen.setdefault(message.id, (package, message.string))
                if other[1] != message.string:
                    problems.append(
                        f"{package} and {other[0]} translate {message.id!r} differently: "
                        f"{message.string!r} / {other[1]!r}"
                    )
            if message.pluralizable and not all(message.string):
                problems.append(f"{package}: a German plural form for {message.id[0]!r} is missing")
            elif message.id and not message.string:
                problems.append(f"{package}: no German text for {message.id!r}")
            elif message.fuzzy and message.id:
                problems.append(f"{package}: German text for {message.id!r} is marked fuzzy")
    return problems


def missing_ids() -> list[str]:
    """Message ids of a package's template (messages.pot) that one of its catalogues lacks: the
    catalogue was not updated with the others (``update`` brings it in step, the id untranslated).
    A header-only catalogue (display and admin carry tr/ar/uk for their plural rule) is left out."""
    from babel.messages.pofile import read_po

    problems = []
    for package in PACKAGES:
        directory = ROOT / package / "translations"
        with (directory / "messages.pot").open("rb") as fh:
            wanted = [m.id for m in read_po(fh) if m.id]
        for lang in languages(package):
            with (directory / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
                catalog = read_po(fh)
            held = {m.id for m in catalog if m.id}
            if held:
                problems += [
                    f"{package} {lang}: no entry for {i!r}" for i in wanted if i not in held
                ]
    return problems


PLACEHOLDER = re.compile(r"%\((\w+)\)")


def placeholder_problems() -> list[str]:
    """Translations whose %(name)s placeholders are not their message id's (German may use
    others on purpose: ``status_de``); an unknown name fails when the message is formatted."""
    from babel.messages.pofile import read_po

    problems = []
    for package in PACKAGES:
        for lang in languages(package):
            if lang == "de":
                continue
            po = ROOT / package / "translations" / lang / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as fh:
                catalog = read_po(fh)
            for message in catalog:
                if not message.id:
                    continue
                if message.pluralizable:  # a form may leave the number out (Arabic dual)
                    names = set(PLACEHOLDER.findall(message.id[1]))
                    wrong = [t for t in message.string if t and set(PLACEHOLDER.findall(t)) - names]
                else:
                    names = set(PLACEHOLDER.findall(message.id))
                    text = message.string
                    wrong = [text] if text and set(PLACEHOLDER.findall(text)) != names else []
                problems += [f"{package} {lang}: {message.id!r} -> {t!r}" for t in wrong]
    return problems


def fill(package: str, lang: str, translations: dict[str, str]) -> None:
    """Write ``translations`` (message id -> text) into a package's catalogue (helper for devs)."""
    from babel.messages.pofile import read_po, write_po

    po = ROOT / package / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id in translations:
            message.string = translations[message.id]
            if "fuzzy" in message.flags:
                message.flags.discard("fuzzy")
    with po.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["update"]:
        update(sys.argv[2:] or None)
    elif sys.argv[1:] == ["check"]:
        problems = missing() + missing_ids() + placeholder_problems()
        print("\n".join(problems) or "all messages translated")
        sys.exit(1 if problems else 0)
    else:
        print(__doc__)
        sys.exit(2)
