"""Catalog upkeep: `python -m bot.i18n_tools missing|pot|stub`.

- `missing`: msgids used in the code that lack a non-empty vi or en translation (exit 1 if any).
- `stub AREA FILE...`: add the msgids of those source files that are missing to
  `locales/{vi,en}/LC_MESSAGES/AREA.po` (English filled with the msgid, Vietnamese left empty
  for a translator; the catalog test fails until it is filled).
- `pot`: write `locales/messages.pot` (what `pybabel extract` would give).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES, LOCALES_DIR

ROOT = LOCALES_DIR.parent
SOURCE_DIRS = ("bot", "handlers", "storage")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def _location(loc: str) -> tuple[str, int]:
    """"path:line" -> (path, line), the shape babel's Catalog.add wants."""
    path, line = loc.rsplit(":", 1)
    return path, int(line)


def source_files() -> list[Path]:
    files = []
    for folder in SOURCE_DIRS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


def extract(files: list[Path] | None = None) -> dict[str, list[str]]:
    """msgid -> locations."""
    found: dict[str, list[str]] = {}
    for path in files or source_files():
        for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return found


def load(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string and not message.fuzzy:
                    text = message.string if isinstance(message.string, str) else message.string[0]
                    merged.setdefault(message.id if isinstance(message.id, str) else message.id[0], text)
    return merged


def missing() -> dict[str, list[str]]:
    used = extract()
    return {loc: sorted(m for m in used if m not in load(loc)) for loc in LOCALES}


def stub(area: str, files: list[Path]) -> int:
    used = extract(files)
    added = 0
    for locale in LOCALES:
        known = load(locale)
        path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{area}.po"
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="thidua", charset="utf-8")
        catalog.fuzzy = False
        for msgid, locations in used.items():
            if msgid in known or catalog.get(msgid) is not None:
                continue
            catalog.add(msgid, msgid if locale == "en" else "",
                        locations=[_location(loc) for loc in locations])
            added += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, no_location=True)
    return added


def fill(area: str, locale: str, translations: dict[str, str]) -> int:
    """Set msgstr for the given msgids in one area file (used by translators' scripts)."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{area}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    done = 0
    for msgid, text in translations.items():
        message = catalog.get(msgid)
        if message is not None:
            message.string = text
            done += 1
    catalog.fuzzy = False
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, no_location=True)
    return done


def write_pot() -> Path:
    catalog = Catalog(project="thidua", charset="utf-8")
    for msgid, locations in extract().items():
        catalog.add(msgid, locations=[_location(loc) for loc in locations])
    out = LOCALES_DIR / "messages.pot"
    with out.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=True)
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "missing":
        gaps = missing()
        for locale, ids in gaps.items():
            for msgid in ids:
                print(f"[{locale}] {msgid!r}")
        return 1 if any(gaps.values()) else 0
    if argv[0] == "stub" and len(argv) >= 3:
        print(f"{stub(argv[1], [Path(f).resolve() for f in argv[2:]])} entries added")
        return 0
    if argv[0] == "pot":
        print(write_pot())
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
