"""bot.i18n reads the .po catalogs itself (Babel stays unimported until a number is formatted):
it must read every catalog exactly as Babel does."""

from __future__ import annotations

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, _Catalog, read_catalog


def test_every_catalog_reads_as_babel_reads_it():
    files = sorted(LOCALES_DIR.glob("*/LC_MESSAGES/*.po"))
    assert files
    for path in files:
        single, plural, forms = read_catalog(path.read_text(encoding="utf-8"))
        with path.open("rb") as fh:
            babel = read_po(fh, locale=path.parent.parent.name)
        want_single = {m.id: m.string for m in babel if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}
        want_plural = {m.id[0]: tuple(m.string) for m in babel
                       if m.id and not isinstance(m.id, str) and any(m.string) and not m.fuzzy}
        assert single == want_single, path
        assert plural == want_plural, path
        assert "nplurals" in forms


def test_multiline_plural_fuzzy_and_obsolete_entries():
    po = '''msgid ""
msgstr ""
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

#: a.py:1
msgid "Hello"
msgstr "Xin "
"chào"

#, fuzzy
msgid "Unsure"
msgstr "Chưa chắc"

msgid "Empty"
msgstr ""

msgid "{n} unit"
msgid_plural "{n} units"
msgstr[0] "{n} đơn vị"
msgstr[1] "{n} đơn vị (nhiều)"

#~ msgid "Old"
#~ msgstr "Cũ"
'''
    single, plural, forms = read_catalog(po)
    assert single == {"Hello": "Xin chào"}
    assert plural == {"{n} unit": ("{n} đơn vị", "{n} đơn vị (nhiều)")}
    catalog = _Catalog(single, plural, forms)
    assert catalog.gettext("Hello") == "Xin chào" and catalog.gettext("Unsure") == "Unsure"
    assert catalog.ngettext("{n} unit", "{n} units", 1) == "{n} đơn vị"
    assert catalog.ngettext("{n} unit", "{n} units", 3) == "{n} đơn vị (nhiều)"
    assert catalog.ngettext("x", "xs", 2) == "xs"
