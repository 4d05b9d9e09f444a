"""A bloc whose group is on Telegram, with representatives on Zalo, in one process over HTTP (the
fake Bot API and the fake Zalo API): the head's /invite gives a Telegram link and a Zalo code per
unit; a Zalo representative joins by typing the code; the pledge card goes to the Telegram group
and, once, to the Zalo representative in private through the outbox; her confirmation edits the
group card and sends her nothing more."""

from __future__ import annotations

import re

from pydantic import SecretStr
from sqlmodel import select

from bot.fakeapi.zalo import FakeZalo
from storage.models import PledgeSignature
from tests.e2e.harness import group_bloc, running_bot

ZALO_TOKEN = "9191919191:mixed-codes-secret"
CODE = re.compile(r"\b([2-9A-Z]{4}-[2-9A-Z]{4})\b")


async def test_zalo_code_join_and_group_card_copy(db, db_url, clock):
    async with FakeZalo(token=ZALO_TOKEN, poll_timeout=0.02) as zalo:
        async with running_bot(db, db_url, clock, zalo_bot_token=SecretStr(ZALO_TOKEN),
                               zalo_api_base=zalo.base_url) as run:
            tg = run.tg
            head, group = await group_bloc(tg, opened_private=True)
            await tg.send_text(head, group, "/invite")
            await tg.wait_bot_message(head["id"], "Mã Zalo")
            links = "\n".join(tg.bot_texts(head["id"]))
            codes = CODE.findall(links)
            assert len(codes) == 2 and links.count("start=j_") == 2  # a link and a code for each unit

            mai = zalo.add_user("Chị Mai")
            await zalo.send_text(mai, codes[1])
            confirm = await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "1 · " in t])
            assert "TTYT thị xã Quảng Yên" in confirm[-1]
            await zalo.send_text(mai, "1")
            await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "Từ nay bạn là đại diện" in t])
            await tg.wait_for(lambda: any("Chị Mai" in t for t in tg.bot_texts(head["id"])))  # the head is told

            await tg.send_text(head, group, "/pledge Các đơn vị cam kết hoàn thành chỉ tiêu năm 2026")
            await tg.wait_bot_message(group["id"], "Giao ước thi đua")
            post = await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "Giao ước thi đua" in t])
            assert "<b>" not in post[-1]
            word = next(line for line in post[-1].splitlines() if ": gõ " in line).split(": gõ ")[1].strip()
            await zalo.send_text(mai, word)
            await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "1 · " in t and "giao ước" in t])
            await zalo.send_text(mai, "1")
            await zalo.wait_for(lambda: [t for t in zalo.texts_to(mai["id"]) if "đã xác nhận tham gia" in t])
            await tg.wait_for(lambda: any("1/2" in t for t in tg.bot_texts(group["id"])))  # the card was edited
            await run.app.extras["outbox"].worker.drain()
            posts = [t for t in zalo.texts_to(mai["id"]) if t.startswith("🤝") and "1 · " not in t]
            assert len(posts) == 1  # the group post once; the card's edits send nothing
    async with db.session() as session:
        assert len((await session.execute(select(PledgeSignature))).scalars().all()) == 1
