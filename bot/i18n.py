"""Gettext for every user-facing string, without aiogram.

Catalogs are the `.po` files under `locales/<lang>/LC_MESSAGES/` (one file per feature area,
all merged per language). They are compiled in memory with Babel at first use, so there is no
build step and no binary `.mo` to keep in sync. The current locale lives in a context variable,
set per update by a middleware (handlers/middlewares.py) and per recipient by the outbox, so
services and views stay channel-neutral and just call `_()`.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    merged: _gettext.NullTranslations | None = None
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        part = _gettext.GNUTranslations(buf)
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
