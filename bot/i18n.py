"""Gettext for every user-facing string, without aiogram.

Catalogs are the `.po` files under `locales/<lang>/LC_MESSAGES/` (one file per feature area,
all merged per language). They are compiled in memory at first use, so there is no build step and
no binary `.mo` to keep in sync. The reading is ours (`read_catalog`, the subset of the PO format the
catalogs use: msgid, msgid_plural, msgstr[n], fuzzy flags, obsolete entries skipped), not Babel's,
which costs half a second and 10 MB to import; tests/unit/test_catalogs.py checks that it reads
every catalog exactly as Babel does. The current locale lives in a context variable,
set per update by a middleware (handlers/middlewares.py) and per recipient by the outbox, so
services and views stay channel-neutral and just call `_()`.
"""

from __future__ import annotations

import ast
import contextvars
import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("thidua_locale", default=DEFAULT_LOCALE)


def normalize_locale(code: str | None, fallback: str = DEFAULT_LOCALE) -> str:
    """Map a Telegram language_code ('vi', 'en-US', None) to one of ours."""
    if not code:
        return fallback
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in LOCALES else fallback


def read_catalog(text: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]], str]:
    """A .po file's translated entries: ({msgid: msgstr}, {msgid: plural msgstrs}, Plural-Forms).
    Untranslated and fuzzy entries are left out (gettext then falls back to the msgid)."""
    single: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    header = ""
    fields: dict[str, str] = {}
    fuzzy = False
    current: str | None = None

    def flush() -> None:
        nonlocal header, fuzzy
        if "msgid" in fields and not fuzzy:
            msgid = fields["msgid"]
            if msgid == "":
                header = fields.get("msgstr", "")
            elif "msgid_plural" in fields:
                forms = tuple(v for k, v in sorted(fields.items()) if k.startswith("msgstr["))
                if any(forms):
                    plural[msgid] = forms
            elif fields.get("msgstr"):
                single[msgid] = fields["msgstr"]
        fields.clear()
        fuzzy = False

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if "msgid" in fields:
                    flush()
                fuzzy = True
            continue
        if line.startswith('"'):
            if current is not None:
                fields[current] += ast.literal_eval(line)
            continue
        key, _sep, value = line.partition(" ")
        if key == "msgid" and "msgid" in fields:
            flush()  # the previous entry ends here (a "#, fuzzy" before this one already flushed it)
        elif key == "msgctxt":
            raise ValueError("msgctxt is not supported by bot.i18n.read_catalog")
        current = key
        fields[key] = ast.literal_eval(value.strip())
    flush()
    forms = next((line.split(":", 1)[1].strip() for line in header.splitlines()
                  if line.lower().startswith("plural-forms:")), "nplurals=2; plural=(n != 1);")
    return single, plural, forms


class _Catalog(_gettext.NullTranslations):
    """What GNUTranslations does with a compiled .mo, from `read_catalog`'s dictionaries."""

    def __init__(self, single: dict[str, str], plural: dict[str, tuple[str, ...]], forms: str) -> None:
        super().__init__()
        self.single, self.plural_forms = single, plural
        expr = forms.split("plural=", 1)[1].rstrip().rstrip(";") if "plural=" in forms else "(n != 1)"
        self.plural = _gettext.c2py(expr)

    def gettext(self, message: str) -> str:
        found = self.single.get(message)
        if found is not None:
            return found
        fallback = getattr(self, "_fallback", None)
        return fallback.gettext(message) if fallback else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self.plural_forms.get(msgid1)
        if forms is not None:
            index = self.plural(n)
            if index < len(forms) and forms[index]:
                return forms[index]
        fallback = getattr(self, "_fallback", None)
        if fallback:
            return fallback.ngettext(msgid1, msgid2, n)
        return msgid1 if n == 1 else msgid2


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    merged: _gettext.NullTranslations | None = None
    for po_path in sorted(folder.glob("*.po")):
        part = _Catalog(*read_catalog(po_path.read_text(encoding="utf-8")))
        if merged is None:
            merged = part
        else:
            merged.add_fallback(part)
    return merged or _gettext.NullTranslations()


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> contextvars.Token:
    return _current.set(normalize_locale(locale))


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(_pinned.get() or normalize_locale(locale))
    try:
        yield
    finally:
        _current.reset(token)


_pinned: contextvars.ContextVar[str | None] = contextvars.ContextVar("pinned_locale", default=None)


@contextmanager
def for_reader(locale: str) -> Iterator[None]:
    """Render for one reader: inside, `use_locale` keeps this locale (a group card renders itself
    in the bloc's language; its private copy to a member is rendered in the member's)."""
    locale = normalize_locale(locale)
    pin, token = _pinned.set(locale), _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)
        _pinned.reset(pin)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction; translate later with `_()` at use time."""
    return message


_ = gettext
