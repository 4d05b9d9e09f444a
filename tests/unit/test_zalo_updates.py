"""Zalo updates parse into ZaloUpdate whatever their shape."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.zalo.updates import parse_update, parse_updates

TEXT = {"event_name": "message.text.received",
        "message": {"message_id": "2d9f0c", "date": 1764700000123, "text": "phieu",
                    "from": {"id": "a1b2c3", "display_name": "Lê Văn Cường", "is_bot": False},
                    "chat": {"id": "a1b2c3", "chat_type": "PRIVATE"}}}


def test_text_update_bare_and_wrapped_are_the_same():
    bare, wrapped = parse_update(TEXT), parse_update({"ok": True, "result": TEXT})
    assert bare == wrapped
    assert (bare.kind, bare.text, bare.message_id, bare.user_id, bare.chat_id, bare.chat_type) == (
        "text", "phieu", "2d9f0c", "a1b2c3", "a1b2c3", "PRIVATE")
    assert bare.display_name == "Lê Văn Cường"
    assert bare.date == datetime(2025, 12, 2, 18, 26, 40, 123000, tzinfo=UTC)
    assert bare.photo_url is None and bare.caption is None and bare.is_private


def test_image_sticker_and_unknown_events():
    image = parse_update({"event_name": "message.image.received",
                          "message": {"message_id": 7, "photo": "https://p/x.jpg", "caption": "mc",
                                      "from": {"id": "ff", "name": "Old field"}, "chat": {"id": "ff"}}})
    assert (image.kind, image.photo_url, image.caption, image.message_id, image.display_name) == (
        "image", "https://p/x.jpg", "mc", "7", "Old field")
    assert image.text is None
    doc = parse_update({"event_name": "message.unsupported.received",
                        "message": {"message_id": "d1", "from": {"id": "ee"},
                                    "chat": {"id": "ee", "chat_type": "GROUP"}}})
    assert doc.kind == "unsupported" and doc.text is None and not doc.is_private
    odd = parse_update({"event_name": "user.reacted", "message": {"message_id": "r1", "text": "ignored"}})
    assert odd.kind == "unsupported" and odd.text is None and odd.event_name == "user.reacted"
    assert parse_update({"event_name": "message.sticker.received", "message": {}}).kind == "sticker"


def test_not_updates():
    assert parse_update(None) is None and parse_update([1]) is None and parse_update({"ok": True}) is None
    assert parse_updates({"ok": False, "error_code": 408}) == []
    assert [u.message_id for u in parse_updates({"ok": True, "result": [TEXT, "junk", TEXT]})] == ["2d9f0c", "2d9f0c"]
    assert parse_update({"event_name": "message.text.received", "message": {"date": "not a date"}}).date is None
