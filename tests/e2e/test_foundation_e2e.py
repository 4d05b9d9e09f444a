"""The bloc's first day, over HTTP: a real aiogram client polling the fake Bot API."""

from __future__ import annotations

import re

from bot.conversations.join import ConfirmJoin
from tests.e2e.harness import TOKEN, running_bot

UNITS = ["TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên", "TTYT thành phố Uông Bí", "TTYT huyện Hải Hà",
         "TTYT huyện Tiên Yên", "TTYT thành phố Hạ Long", "TTYT thành phố Cẩm Phả", "TTYT thành phố Móng Cái",
         "TTYT huyện Vân Đồn", "TTYT huyện Đầm Hà", "TTYT huyện Bình Liêu", "TTYT huyện Ba Chẽ",
         "TTYT huyện Cô Tô", "TTYT huyện Hoành Bồ"]
LINK = re.compile(r"https://t\.me/thidua_test_bot\?start=j_[A-Za-z0-9_-]+")


async def confirm_join(tg, user, url):
    await tg.open_link(user, url)
    card = await tg.wait_bot_message(user["id"], "Bạn có phải đại diện")
    data = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row
            if ConfirmJoin.matches(b.get("callback_data"))][0]
    await tg.click(user, card, data)
    await tg.wait_bot_message(user["id"], "Từ nay bạn là đại diện của")


async def test_setup_units_invites_join_status(db, db_url, clock, caplog):
    caplog.set_level("DEBUG")
    async with running_bot(db, db_url, clock) as run:
        tg = run.tg
        head, outsider = tg.add_user("Lan", "lan_tienyen"), tg.add_user("Khách")
        reps = [tg.add_user(name) for name in ("Hùng", "Mai", "Tuấn")]
        group = await tg.create_group("Khối thi đua TTYT", creator=head, members=[outsider, *reps])
        await tg.wait_bot_message(group["id"], "Xin chào")

        await tg.send_text(outsider, group, "/setup Khối giả")
        await tg.wait_bot_message(group["id"], "Chỉ quản trị viên")
        await tg.send_text(head, group, "/setup Khối thi đua các TTYT tuyến huyện")
        await tg.wait_bot_message(group["id"], "đã được lập thành")
        await tg.send_text(head, group, "/addunit\n" + "\n".join(UNITS))
        await tg.wait_bot_message(group["id"], "Đã thêm 14 đơn vị")

        await tg.send_text(head, group, "/invite")  # never opened the private chat: told how
        await tg.wait_bot_message(group["id"], "không thể nhắn cho bạn trước")
        await tg.press_start(head)
        await tg.wait_bot_message(head["id"], "Xin chào")
        tg.blocked.add(head["id"])  # blocked the bot; the bot has not heard yet: Telegram answers 403
        await tg.send_text(head, group, "/invite")
        await tg.wait_for(lambda: len([m for m in tg.bot_texts(group["id"]) if "không thể nhắn" in m]) == 2)
        assert ("sendmessage", 403) in tg.calls
        tg.blocked.discard(head["id"])
        await tg.press_start(head)
        await tg.wait_bot_message(head["id"], "Xin chào")
        await tg.send_text(head, group, "/invite")
        await tg.wait_bot_message(group["id"], "đã gửi các link")
        links = [url for text in tg.bot_texts(head["id"]) for url in LINK.findall(text)]
        assert len(links) == 14

        for rep, url in zip(reps, links[:3], strict=False):
            await confirm_join(tg, rep, url)
        forged = links[3][:-4] + ("AAAA" if not links[3].endswith("AAAA") else "BBBB")
        await tg.open_link(outsider, forged)
        await tg.wait_bot_message(outsider["id"], "không đúng")

        await tg.send_text(head, group, "/status")
        status = await tg.wait_bot_message(group["id"], "đã có đại diện")
        assert "đã có đại diện: 3/14" in status["text"]
        await tg.send_text(reps[0], tg.private_chat(reps[0]), "/whoami")
        whoami = await tg.wait_bot_message(reps[0]["id"], "Vai trò")
        assert UNITS[0] in whoami["text"]
    secret = TOKEN.split(":", 1)[1]
    assert caplog.records and not any(secret in record.getMessage() for record in caplog.records)


async def test_migration_removal_and_html_names(db, db_url, clock):
    async with running_bot(db, db_url, clock) as run:
        tg = run.tg
        head = tg.add_user("Lan")
        group = await tg.create_group("Khối", creator=head)
        await tg.send_text(head, group, "/setup Khối <b>thử</b> & co")
        await tg.wait_bot_message(group["id"], "đã được lập thành")
        await tg.send_text(head, group, "/addunit <i>Sở</i> & <Ban>")
        await tg.wait_bot_message(group["id"], "Đã thêm 1 đơn vị")
        new = await tg.migrate_to_supergroup(group, head)
        await tg.wait_bot_message(new["id"], "siêu nhóm")
        await tg.send_text(head, new, "/units")
        listing = await tg.wait_bot_message(new["id"], "Các đơn vị")
        assert "<i>Sở</i> & <Ban>" in listing["text"]  # shown literally: it was escaped
        await tg.remove_bot(new, head)
        await tg.send_text(head, tg.private_chat(head), "/help")
        await tg.wait_bot_message(head["id"], "Bạn có thể làm")
        assert not [c for c in tg.calls if c[1] >= 500]
