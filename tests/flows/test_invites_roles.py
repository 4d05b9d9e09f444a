from __future__ import annotations

import re

from sqlmodel import select

from bot.conversations.join import CancelJoin, ConfirmJoin
from storage.models import Bloc, Invite, Representative, Unit

UNITS = ["TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên", "TTYT thành phố Uông Bí", "TTYT huyện Hải Hà",
         "TTYT huyện Tiên Yên"]
LINK = re.compile(r"https://t\.me/thidua_test_bot\?start=(j_[A-Za-z0-9_-]+)")


async def make_bloc(flow, head):
    await flow.send(head, "/setup Khối thi đua TTYT", chat=flow.group)
    await flow.send(head, "/addunit\n" + "\n".join(UNITS), chat=flow.group)


async def invite_links(flow, head) -> list[str]:
    await flow.send(head, "/start")  # the head opened the private chat
    await flow.send(head, "/invite", chat=flow.group)
    payloads = []
    for text in flow.texts(head.id):
        payloads += LINK.findall(text)
    return payloads


async def join(flow, user, payload):
    await flow.send(user, f"/start {payload}")
    confirm = flow.last(user.id)
    data = [d for _l, d, _u in flow.buttons(confirm) if ConfirmJoin.matches(d)]
    assert data, f"no confirm button in {confirm.text!r}"
    assert len(data[0].encode()) <= 64
    assert ConfirmJoin.unpack(data[0]) == ConfirmJoin(payload)
    assert [d for _l, d, _u in flow.buttons(confirm) if d == CancelJoin().pack()]
    await flow.click(user, confirm, data[0])


async def test_invite_needs_private_chat_first(flow):
    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    await flow.send(head, "/invite", chat=flow.group)
    assert "không thể nhắn cho bạn trước" in flow.last_text(flow.group.id)
    assert not flow.texts(head.id)


async def test_invite_join_and_status(flow, fetch):
    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    payloads = await invite_links(flow, head)
    assert len(payloads) == len(UNITS) and len(set(payloads)) == len(UNITS)
    assert all(len(p) <= 64 for p in payloads)
    assert "đã gửi các link" in flow.last_text(flow.group.id)
    rep = flow.user("Hùng")
    await join(flow, rep, payloads[1])
    assert "đại diện của <b>TTYT thị xã Quảng Yên</b>" in flow.last_text(rep.id)
    reps = (await fetch(select(Representative)))
    assert [r.person_id for r in reps] and len(reps) == 1
    await flow.send(rep, "/whoami")
    assert "TTYT thị xã Quảng Yên" in flow.last_text(rep.id) and "đại diện đơn vị" in flow.last_text(rep.id)
    await flow.send(head, "/status", chat=flow.group)
    assert "đã có đại diện: 1/5" in flow.last_text(flow.group.id)
    assert any("Hùng đã đăng ký làm đại diện" in t for t in flow.texts(head.id))  # the head is told of every join
    # the used link, forwarded to a second person, adds nobody (and the head is told)
    mai = flow.user("Mai")
    await flow.send(mai, f"/start {payloads[1]}")
    confirm = flow.last(mai.id)
    await flow.click(mai, confirm, [d for _l, d, _u in flow.buttons(confirm) if ConfirmJoin.matches(d)][0])
    assert "đã được sử dụng" in flow.answered()[-1]
    assert any("Mai vừa dùng một link đã sử dụng" in t for t in flow.texts(head.id))
    assert len(await fetch(select(Representative))) == 1
    # a second representative of the same unit needs a link of their own
    await flow.send(head, "/invite 2", chat=flow.group)
    fresh = re.findall(r"start=(j_[A-Za-z0-9_-]+)", "\n".join(flow.texts(head.id)))[-1]
    await join(flow, mai, fresh)
    # the same person for another unit is refused
    await flow.send(rep, f"/start {payloads[2]}")
    confirm = flow.last(rep.id)
    await flow.click(rep, confirm, [d for _l, d, _u in flow.buttons(confirm) if ConfirmJoin.matches(d)][0])
    assert "đang là đại diện của “TTYT thị xã Quảng Yên”" in flow.answered()[-1]
    count = len(await fetch(select(Representative)))
    assert count == 2


async def test_forged_expired_and_revoked_links_register_nothing(flow, fetch, clock):
    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    payloads = await invite_links(flow, head)
    stranger = flow.user("Lạ")
    await flow.send(stranger, "/start j_AAAAAAAAAAAAAAAAAAAAAA")
    assert "không đúng" in flow.last_text(stranger.id)
    await flow.send(stranger, "/start j_<script>")
    assert "không đúng" in flow.last_text(stranger.id)
    await flow.send(stranger, "/start zz_whatever")
    assert "không đúng" in flow.last_text(stranger.id)
    await flow.send(head, "/revokelinks", chat=flow.group)
    await flow.send(stranger, f"/start {payloads[0]}")
    assert "thu hồi" in flow.last_text(stranger.id)
    await flow.send(head, "/invite 1", chat=flow.group)
    fresh = LINK.findall(flow.last_text(head.id))[0]
    clock.advance(days=15)
    await flow.send(stranger, f"/start {fresh}")
    assert "hết hạn" in flow.last_text(stranger.id)
    assert not await fetch(select(Representative))
    hashes = (await fetch(select(Invite.token_hash)))
    assert all(fresh[2:] not in h for h in hashes)  # only hashes are stored


async def test_revoke_representative_and_posts(flow, fetch):
    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    payloads = await invite_links(flow, head)
    await join(flow, head, payloads[4])  # the founder represents Tiên Yên
    rep = flow.user("Hùng")
    await join(flow, rep, payloads[0])
    await flow.send(head, "/sethead 5", chat=flow.group)
    assert "Trưởng khối năm" in flow.last_text(flow.group.id)
    await flow.send(head, "/setdeputy 5", chat=flow.group)
    assert "vừa là Trưởng khối vừa là Phó trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(rep, "/sethead 1", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    bloc = (await fetch(select(Bloc)))[0]
    assert bloc.head_unit_id is not None
    await flow.send(head, "/reps", chat=flow.group)
    listing = flow.last_text(flow.group.id)
    assert "Hùng" in listing
    number = [line.split(".")[0] for line in listing.splitlines() if "Hùng" in line][0]
    await flow.send(head, f"/revoke {number}", chat=flow.group)
    assert "không còn là đại diện" in flow.last_text(flow.group.id)
    await flow.send(head, "/revoke 99", chat=flow.group)
    assert "Không có đại diện số" in flow.last_text(flow.group.id)
    active = (await fetch(select(Representative).where(Representative.revoked_at == None)))  # noqa: E711
    assert len(active) == 1
    await flow.send(rep, f"/start {payloads[0]}")  # the revoked person's own link is dead too
    assert "Trưởng khối đã" in flow.last_text(rep.id) or "thu hồi" in flow.last_text(rep.id) \
        or "không còn" in flow.last_text(rep.id)
    assert not [d for _l, d, _u in flow.buttons(flow.last(rep.id)) if ConfirmJoin.matches(d)]
    for bad in ("/revoke 99999999999999999999", "/revoke 0", "/revoke -1"):
        await flow.send(head, bad, chat=flow.group)
        assert "Không có đại diện số" in flow.last_text(flow.group.id)


async def test_rename_deactivate_merge_keep_history(flow, fetch):
    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    payloads = await invite_links(flow, head)
    rep = flow.user("Hùng")
    await join(flow, rep, payloads[0])
    await flow.send(head, "/rename 2 TTYT thị xã Quảng Yên mới", chat=flow.group)
    assert "đã đổi tên" in flow.last_text(flow.group.id)
    await flow.send(head, "/rename 3 TTYT thị xã Đông Triều", chat=flow.group)
    assert "Đã có đơn vị khác" in flow.last_text(flow.group.id)
    await flow.send(head, "/merge 1 3", chat=flow.group)
    assert "Đã sáp nhập" in flow.last_text(flow.group.id)
    units = {u.name: u for u in (await fetch(select(Unit)))}
    old = units["TTYT thị xã Đông Triều"]
    assert not old.is_active and old.merged_into_id == units["TTYT thành phố Uông Bí"].id
    await flow.send(rep, "/whoami")
    assert "TTYT thành phố Uông Bí" in flow.last_text(rep.id)
    await flow.send(head, "/removeunit 3", chat=flow.group)  # numbering changed after the merge: 3 = Hải Hà
    await flow.send(head, "/units", chat=flow.group)
    listing = flow.last_text(flow.group.id)
    assert "Hải Hà" not in listing and "Đông Triều" not in listing and "Uông Bí" in listing
    assert len(await fetch(select(Unit))) == 5  # nothing deleted


async def test_unit_list_from_csv_and_xlsx_in_private(flow, fetch):
    import io

    from openpyxl import Workbook

    head = flow.user("Lan", admin=True)
    await flow.send(head, "/setup Khối Sở", chat=flow.group)
    await flow.send(head, "/start")
    await flow.send_document(head, "donvi.csv", "Tên đơn vị;Mã\nSở Y tế;SYT\nSở Văn hóa và Thể thao;SVHTT\n".encode())
    assert "Đã thêm 2 đơn vị" in flow.last_text(head.id)
    book = Workbook()
    book.active.append(["Tên"])
    book.active.append(["Sở Giáo dục và Đào tạo"])
    book.active.append(["Sở Y tế"])
    buf = io.BytesIO()
    book.save(buf)
    await flow.send_document(head, "donvi.xlsx", buf.getvalue())
    reply = flow.last_text(head.id)
    assert "Đã thêm 1 đơn vị" in reply and "đã có trong danh sách" in reply
    codes = {u.name: u.code for u in (await fetch(select(Unit)))}
    assert codes == {"Sở Y tế": "SYT", "Sở Văn hóa và Thể thao": "SVHTT", "Sở Giáo dục và Đào tạo": None}
    outsider = flow.user("Khách")
    await flow.send_document(outsider, "x.csv", b"A\n")
    assert "Chỉ Trưởng khối" in flow.last_text(outsider.id)
    await flow.send_document(head, "broken.xlsx", b"not a zip")
    assert "Không mở được" in flow.last_text(head.id)


async def test_lang_switch_per_person(flow):
    head = flow.user("Lan", admin=True)
    await flow.send(head, "/setup Khối A", chat=flow.group)
    other = flow.user("Minh")
    await flow.send(other, "/lang en")
    assert flow.last_text(other.id) == "Language set: English."
    await flow.send(other, "/help")
    assert "What you can do here" in flow.last_text(other.id)
    await flow.send(head, "/help", chat=flow.group)
    assert "Bạn có thể làm ở đây" in flow.last_text(flow.group.id)
    await flow.send(other, "/lang xx")
    assert "/lang vi" in flow.last_text(other.id)


async def test_migration_to_supergroup_and_removal(flow, fetch, clock):
    from aiogram.types import Chat, ChatMemberLeft, ChatMemberMember, ChatMemberUpdated, Message

    from tests.support.flow import BOT_ID

    head = flow.user("Lan", admin=True)
    old_group = Chat(id=-4001, type="group", title="Khối")
    await flow.send(head, "/setup Khối A", chat=old_group)
    await flow.raw(message=Message(message_id=1, date=clock.now(), chat=old_group, from_user=head,
                                   migrate_to_chat_id=-1004001))
    assert (await fetch(select(Bloc)))[0].chat_id == -1004001
    new_group = Chat(id=-1004001, type="supergroup", title="Khối")
    await flow.send(head, "/status", chat=new_group)
    assert "Khối A" in flow.last_text(new_group.id)
    bot_user = flow._bot_user()
    await flow.raw(my_chat_member=ChatMemberUpdated(
        chat=new_group, from_user=head, date=clock.now(),
        old_chat_member=ChatMemberMember(user=bot_user), new_chat_member=ChatMemberLeft(user=bot_user)))
    assert (await fetch(select(Bloc)))[0].is_active is False
    assert BOT_ID == bot_user.id


async def test_settings_show_and_change(flow, fetch):
    head = flow.user("Lan", admin=True)
    await flow.send(head, "/setup Khối A", chat=flow.group)
    await flow.send(head, "/settings", chat=flow.group)
    assert "Asia/Ho_Chi_Minh" in flow.last_text(flow.group.id)
    await flow.send(head, "/settings timezone Mars/Olympus", chat=flow.group)
    assert "Không rõ múi giờ" in flow.last_text(flow.group.id)
    await flow.send(head, "/settings timezone Asia/Bangkok", chat=flow.group)
    assert (await fetch(select(Bloc)))[0].timezone == "Asia/Bangkok"
    other = flow.user("Minh")
    await flow.send(other, "/settings timezone UTC", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/settings language en", chat=flow.group)
    await flow.send(other, "/help", chat=flow.group)
    assert "What you can do here" in flow.last_text(flow.group.id)
