"""A bloc whose group is on Telegram and one of whose representatives is on Zalo, served by one
`thidua run` process: Telegram by polling the fake Bot API, Zalo by polling the fake Zalo API.
The head asks for reminders in the Telegram group; the Zalo representative gets hers in Zalo
(through the outbox's Zalo sender) and confirms the pledge there by typing."""

from __future__ import annotations

from pydantic import SecretStr
from sqlmodel import select

from bot.fakeapi.zalo import FakeZalo
from bot.services import invites, units
from bot.services.people import touch_person
from storage.models import Bloc, PledgeSignature
from tests.e2e.harness import group_bloc, running_bot

ZALO_TOKEN = "9090909090:mixed-secret"


async def test_telegram_group_with_a_zalo_representative(db, db_url, clock):
    async with FakeZalo(token=ZALO_TOKEN, poll_timeout=0.02) as zalo:
        async with running_bot(db, db_url, clock, zalo_bot_token=SecretStr(ZALO_TOKEN),
                               zalo_api_base=zalo.base_url) as run:
            tg = run.tg
            head, group = await group_bloc(tg)
            await tg.send_text(head, group, "/pledge Các đơn vị cam kết hoàn thành chỉ tiêu năm 2026")
            await tg.wait_bot_message(group["id"], "Giao ước thi đua")

            mai = zalo.add_user("Chị Mai")
            await zalo.send_text(mai, "xin chào")  # she wrote to the bot first, so it may write to her
            await zalo.wait_for(lambda: zalo.texts_to(mai["id"]))
            number = await run.app.zalo.front.number_of(mai["id"])
            async with db.session() as session:  # she joined unit 2 (Zalo join codes: issue 13)
                bloc = (await session.execute(select(Bloc))).scalar_one()
                unit2 = (await units.list_units(session, bloc.id))[1]
                link = (await invites.issue_links(session, clock, bloc, [unit2], 14, None))[0]
                person = await touch_person(session, clock, number, "Chị Mai", None, None, channel="zalo",
                                            private=True)
                await invites.join(session, clock, link.payload, person)

            await tg.send_text(head, group, "/pledge remind")
            await tg.wait_bot_message(group["id"], "1 đại diện")
            reminder = await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "Nhắc" in t])
            assert "TTYT thị xã Quảng Yên" in reminder[-1] and "<b>" not in reminder[-1]
            word = next(line for line in reminder[-1].splitlines() if ": gõ " in line).split(": gõ ")[1].strip()
            await zalo.send_text(mai, word)
            await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "1 · " in t])
            await zalo.send_text(mai, "1")
            await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "đã xác nhận tham gia" in t])
            await tg.wait_for(lambda: any("1/2" in t for t in tg.bot_texts(group["id"])))  # the group post follows
    async with db.session() as session:
        assert len((await session.execute(select(PledgeSignature))).scalars().all()) == 1
