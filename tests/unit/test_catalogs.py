"""Every string the code translates has a non-empty Vietnamese and English translation."""

from __future__ import annotations

import re

from bot.i18n import _, translations, use_locale
from bot.i18n_tools import extract, load, missing


def test_no_missing_or_empty_translation():
    gaps = missing()
    assert gaps == {"vi": [], "en": []}, f"fill these in locales/*/LC_MESSAGES/*.po: {gaps}"


def test_placeholders_survive_translation():
    """A translation that drops or renames a {placeholder} would crash .format() at run time."""
    used = extract()
    for locale in ("vi", "en"):
        catalog = load(locale)
        for msgid in used:
            want = set(re.findall(r"{(\w*)}", msgid))
            got = set(re.findall(r"{(\w*)}", catalog.get(msgid, msgid)))
            assert want == got, f"[{locale}] placeholders differ in {msgid!r}: {catalog.get(msgid)!r}"


def test_vietnamese_is_the_default_and_english_works():
    msgid = "This command works in the bloc's group chat."
    assert _(msgid) == "Lệnh này dùng trong nhóm chung của khối."
    with use_locale("en"):
        assert _(msgid) == msgid
    assert translations("vi").gettext(msgid) != msgid
