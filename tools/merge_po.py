"""Resolve a merge conflict in translation catalogues: re-extract, then keep every translation
that either side had.  Usage: python tools/merge_po.py OTHER_BRANCH [package ...]"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

sys.path.insert(0, str(Path(__file__).resolve().parent))
import i18n


def _catalog_at(rev: str, path: str) -> dict:
    try:
        data = subprocess.run(
            ["git", "show", f"{rev}:{path}"], capture_output=True, check=True
        ).stdout
    except subprocess.CalledProcessError:
        return {}
    catalog = read_po(io.BytesIO(data))
    return {m.id: m.string for m in catalog if m.id and m.string}


def main(other: str, packages: list[str]) -> None:
    kept: dict[tuple[str, str], dict] = {}
    for package in packages:
        for lang in i18n.LANGUAGES:
            path = f"{package}/translations/{lang}/LC_MESSAGES/messages.po"
            merged = _catalog_at("HEAD", path) | _catalog_at(other, path)
            # write the HEAD version back so babel can update it (conflict markers removed)
            head = subprocess.run(["git", "show", f"HEAD:{path}"], capture_output=True).stdout
            if head:
                Path(path).write_bytes(head)
            kept[(package, lang)] = merged
        pot = f"{package}/translations/messages.pot"
        head = subprocess.run(["git", "show", f"HEAD:{pot}"], capture_output=True).stdout
        if head:
            Path(pot).write_bytes(head)
    i18n.update()
    for package in packages:
        for lang in i18n.LANGUAGES:
            i18n.fill(package, lang, kept[(package, lang)])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or i18n.PACKAGES)
