"""The bloc's core commands in plain text (TextFront, no aiogram): setup in a group, units as a
list, join links, a representative joining with the start word and a number, /whoami, /help and an
unknown command, all in Vietnamese."""

from __future__ import annotations

import re

from bot.app import build_table
from bot.channels.textfront import TextFront
from bot.channels.textual import PendingChoices
from bot.conversations.core import Chat


class _Pending(PendingChoices):
    """Always truthy: this branch's text front tests `if pending` (an empty PendingChoices is falsy)."""

    def __bool__(self) -> bool:
        return True


GROUP = Chat("text", -1001, False)
HEAD, REP, OTHER = 11, 12, 13
TOKEN = re.compile(r"start=j_([A-Za-z0-9_-]+)")


def _front(db, clock, settings) -> TextFront:
    return TextFront(build_table(), db, clock, settings, pending=_Pending(clock=clock))


async def _bloc_with_links(front: TextFront) -> list[str]:
    await front.say(HEAD, "Lan", "/start")  # the head opened the private chat
    # No group administrators on a text channel: whoever sets the group up may.
    said = await front.say(HEAD, "Lan", "/setup Khối thi đua Y tế", chat=GROUP)
    assert "Nhóm này đã được lập thành Khối thi đua Y tế" in said[0]
    said = await front.say(HEAD, "Lan", "/addunit TTYT Đông Triều\nTTYT Quảng Yên\nTTYT Uông Bí", chat=GROUP)
    assert said == ["✅ Đã thêm 3 đơn vị: TTYT Đông Triều, TTYT Quảng Yên, TTYT Uông Bí.\n"
                    "Khối có 3 đơn vị thành viên. Gửi /units để xem danh sách."]
    said = await front.say(HEAD, "Lan", "/invite", chat=GROUP)
    assert said == ["📨 Bot đã gửi các link tham gia vào tin nhắn riêng của bạn."]
    tokens = [t for text in front.texts_to(HEAD) for t in TOKEN.findall(text)]
    assert len(tokens) == 3
    return tokens


async def test_setup_units_invite_join_whoami_help(db, clock, settings):
    front = _front(db, clock, settings)
    tokens = await _bloc_with_links(front)

    said = await front.say(REP, "Mai", f"dk {tokens[1]}")
    assert "Bạn đã mở link tham gia của TTYT Quảng Yên trong Khối thi đua Y tế" in said[0]
    assert "1 · ✅ Tôi là đại diện của TTYT Quảng Yên" in said[0] and "2 · ✖ Không phải tôi" in said[0]
    said = await front.say(REP, "Mai", "1")
    assert said[0].startswith("✅ Từ nay bạn là đại diện của TTYT Quảng Yên trong Khối thi đua Y tế.")
    assert front.last_to(HEAD).startswith("👤 Mai đã đăng ký làm đại diện của TTYT Quảng Yên")

    said = await front.say(REP, "Mai", "/whoami")
    assert said == ["Khối: Khối thi đua Y tế\nĐơn vị: TTYT Quảng Yên\nVai trò: đại diện đơn vị"]
    said = await front.say(REP, "Mai", "/help")
    assert said[0].startswith("Bạn có thể làm ở đây:") and "/whoami" in said[0]
    said = await front.say(REP, "Mai", "/khongco")
    assert said == ["Bot không hiểu lệnh này. Gửi /help để xem bạn có thể làm gì ở đây."]
    said = await front.say(HEAD, "Lan", "/units", chat=GROUP)
    assert "TTYT Quảng Yên" in said[0]

    # The same link opened by someone else: refused, and the head is told.
    await front.say(OTHER, "Khách", f"dk {tokens[1]}")
    said = await front.say(OTHER, "Khách", "1")
    assert said[0].startswith("Link tham gia này đã được sử dụng.")
    assert "Khách" in front.last_to(HEAD)


async def test_not_me_and_forged_links(db, clock, settings):
    front = _front(db, clock, settings)
    tokens = await _bloc_with_links(front)
    await front.say(REP, "Mai", f"dk {tokens[0]}")
    said = await front.say(REP, "Mai", "2")
    assert said == ["Chưa đăng ký gì."]
    said = await front.say(REP, "Mai", "/whoami")
    assert said == ["Bạn chưa tham gia khối nào. Hãy mở link tham gia mà Trưởng khối đã gửi bạn."]
    said = await front.say(OTHER, "Khách", "dk khongphaitoken")
    assert said == ["Link tham gia này không đúng. Hãy đề nghị Trưởng khối gửi link mới."]
    said = await front.say(OTHER, "Khách", "/units")
    assert said == ["Lệnh này dùng trong nhóm chung của khối."]
