from __future__ import annotations

import unicodedata

from sqlmodel import select

from storage.models import Unit

DONG_TRIEU = "TTYT thị xã Đông Triều"
QUANG_YEN = "TTYT thị xã Quảng Yên"


async def test_setup_requires_group_admin(flow):
    plain = flow.user("Bình")
    await flow.send(plain, "/setup Khối thi đua TTYT", chat=flow.group)
    assert "quản trị viên" in flow.last_text(flow.group.id)
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối thi đua các TTYT tuyến huyện", chat=flow.group)
    assert "Khối thi đua các TTYT tuyến huyện" in flow.last_text(flow.group.id)
    await flow.send(admin, "/setup Khối khác", chat=flow.group)
    assert "đã được lập thành" in flow.last_text(flow.group.id)


async def test_units_added_listed_and_checked(flow, session):
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối A", chat=flow.group)
    decomposed = unicodedata.normalize("NFD", QUANG_YEN)
    await flow.send(admin, f"/addunit\n{DONG_TRIEU}\n  {QUANG_YEN}  \n{decomposed}\n{'x' * 130}", chat=flow.group)
    reply = flow.last_text(flow.group.id)
    assert "2" in reply and "đã có trong danh sách" in reply and "quá dài" in reply
    units = (await session.execute(select(Unit))).scalars().all()
    assert sorted(u.name for u in units) == sorted([DONG_TRIEU, QUANG_YEN])
    await flow.send(admin, "/units", chat=flow.group)
    assert f"1. {DONG_TRIEU}" in flow.last_text(flow.group.id)


async def test_html_in_unit_names_is_escaped(flow):
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối A", chat=flow.group)
    await flow.send(admin, "/addunit <b>Sở</b> & Co", chat=flow.group)
    await flow.send(admin, "/units", chat=flow.group)
    assert "&lt;b&gt;Sở&lt;/b&gt; &amp; Co" in flow.last_text(flow.group.id)


async def test_non_manager_cannot_add_units(flow, session):
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối A", chat=flow.group)
    other = flow.user("Minh")
    await flow.send(other, "/addunit Sở Y tế", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    assert (await session.execute(select(Unit))).first() is None


async def test_unknown_command_and_help_differ_by_role(flow):
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối A", chat=flow.group)
    await flow.send(admin, "/help", chat=flow.group)
    head_help = flow.last_text(flow.group.id)
    assert "/addunit" in head_help and "/invite" in head_help
    outsider = flow.user("Khách")
    await flow.send(outsider, "/help", chat=flow.group)
    outsider_help = flow.last_text(flow.group.id)
    assert "/addunit" not in outsider_help and "/help" in outsider_help
    await flow.send(outsider, "/frobnicate", chat=flow.group)
    assert "/help" in flow.last_text(flow.group.id)


async def test_group_commands_in_private_get_a_clear_answer(flow):
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối A")
    assert "dùng trong nhóm chung" in flow.last_text(admin.id)
    await flow.send(admin, "/addunit Sở Y tế")
    assert "dùng trong nhóm chung" in flow.last_text(admin.id)


async def test_group_admins_are_asked_for_setup_only(flow, monkeypatch):
    """The Telegram front asks getChatMember only for entries with needs_admin (/setup)."""
    from aiogram.methods import GetChatMember

    asked = []
    respond = flow._respond

    def counting(method):
        if isinstance(method, GetChatMember):
            asked.append(method.user_id)
        return respond(method)

    monkeypatch.setattr(flow, "_respond", counting)
    admin = flow.user("Lan", admin=True)
    await flow.send(admin, "/setup Khối thi đua TTYT", chat=flow.group)
    assert asked == [admin.id]
    await flow.send(admin, "/units", chat=flow.group)
    await flow.send(admin, "/help", chat=flow.group)
    await flow.send(admin, "/setup")  # in private: "works in the group", nobody asked
    assert asked == [admin.id]
