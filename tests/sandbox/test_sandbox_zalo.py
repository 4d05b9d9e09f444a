"""Zalo personas in the sandbox: a chat without buttons, through the fake Zalo Bot API and the
bot's real Zalo front. Thảo (Zalo) joined with the invite's word in the demo; she votes by typing
numbers and the confirmation word, next to the Telegram representatives."""

from __future__ import annotations

import asyncio
import re

from bot.sandbox.server import UNITS
from tests.sandbox.conftest import Page

HEAD, THAO = 5_000_001, 5_000_101


async def test_a_zalo_persona_votes_by_typed_numbers(page: Page):
    state = await page.state()
    personas = {p["key"]: p for p in state["personas"]}
    assert [c["id"] for c in personas["thao"]["chats"]] == [THAO]  # one private chat, no group
    group = state["group_id"]
    joined = await page.bot_html("thao", THAO)
    assert any(UNITS[5] in t for t in joined)  # the demo joined her with the typed invite word

    await page.send("head", group, "/vote bangkhen 2 2h kemco")  # the demo proposed a unit for the flag
    card = await page.last_bot("head", group, "Bỏ phiếu kín")
    number = re.search(r"Bỏ phiếu kín #(\d+)", card["html"])
    assert number is not None
    # The card's copy reaches Thảo through the outbox; wait for it, so what follows reads replies only.
    for _ in range(200):
        if any(f"phieu {number.group(1)}" in t for t in await page.bot_html("thao", THAO)):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the vote card never reached Thảo on Zalo")
    await page.send("thao", THAO, f"phieu {number.group(1)}")
    messages = await page.messages("thao", THAO)
    ballot = messages[-1]
    assert ballot["buttons"] == [] and "Trả lời số đơn vị bạn chọn, ví dụ 3 hoặc 1,4,7" in ballot["html"]
    await page.send("thao", THAO, "1,2,3")
    assert "Chỉ được chọn tối đa 2" in (await page.bot_html("thao", THAO))[-1]
    await page.send("thao", THAO, "1 6")
    review = (await page.bot_html("thao", THAO))[-1]
    assert f"• {UNITS[0]}" in review and f"• {UNITS[5]}" in review and "Gõ CO để gửi phiếu" in review
    await page.send("thao", THAO, "có")
    receipt = (await page.bot_html("thao", THAO))[-1]
    assert f"Phiếu của {UNITS[5]} đã vào hòm phiếu" in receipt and "Mã biên nhận" in receipt

    # No buttons on Zalo: a click is refused plainly, nothing changes.
    status, body = await page.post("/api/click", {"persona": "thao", "chat": THAO, "message_id": 1, "data": "x"})
    assert status == 400 and "Zalo" in body["error"]
