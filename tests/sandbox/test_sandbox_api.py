"""The sandbox through its page API: the demo bloc, a whole secret vote with chart and minutes,
HTML shown as Telegram shows it, and every refusal (nothing changes, a clear localized answer)."""

from __future__ import annotations

import re

import aiohttp

from bot.sandbox.server import BOT_USERNAME, UNITS
from tests.sandbox.conftest import Page, start_sandbox

HEAD, DEPUTY, MAI, TUAN, HA, GUEST = 5_000_001, 5_000_002, 5_000_003, 5_000_004, 5_000_005, 5_000_006


async def test_page_and_demo_bloc(page: Page):
    async with page.http.get(page.url + "/") as r:
        assert r.status == 200 and "app.js" in await r.text()
    async with page.http.get(page.url + "/static/app.js") as r:
        assert r.status == 200 and "EventSource" in await r.text()
    state = await page.state()
    assert state["status"] == "ready" and state["lang"] == "vi"
    assert state["strings"]["send"] == "Gửi" and state["strings"]["ok"] == "Đồng ý"  # the page itself is translated
    roles = {p["key"]: p["role"] for p in state["personas"]}
    assert roles["head"] == "Trưởng khối" and roles["deputy"] == "Phó trưởng khối"
    group = state["group_id"]
    chats = {p["key"]: [c["id"] for c in p["chats"]] for p in state["personas"]}
    assert chats["head"] == [group, HEAD] and chats["guest"] == [GUEST]  # the outsider is not in the group
    texts = await page.bot_html("head", group)
    assert any("đã được lập thành" in t for t in texts) and any("Đã thêm 14 đơn vị" in t for t in texts)
    assert "Xin chào" in texts[0]  # the bot greeted the group before the head typed
    assert any("TTYT thị xã Đông Triều là đơn vị Phó trưởng khối" in t for t in texts)
    for persona, unit in (("deputy", 0), ("mai", 1), ("tuan", 2), ("head", 4)):
        person_id = next(p["id"] for p in state["personas"] if p["key"] == persona)
        said = await page.bot_html(persona, person_id)
        assert any(f"Từ nay bạn là đại diện của <b>{UNITS[unit]}</b>" in t for t in said)
    await page.send("deputy", group, "/status")
    assert "đã có đại diện: 12/14" in (await page.last_bot("deputy", group, "đã có đại diện"))["html"]
    await page.send("head", HEAD, "/lang en")  # each persona's bot language is its own
    await page.send("head", HEAD, "/help")
    assert "What you can do here" in (await page.bot_html("head", HEAD))[-1]


async def test_the_demo_shows_a_valid_result_with_its_minutes(page: Page):
    """12 of 14 units cast (Thảo on Zalo) in the demo's finished flag vote: a valid result and its minutes."""
    import io

    from docx import Document

    group = (await page.state())["group_id"]
    messages = await page.messages("head", group)
    (result,) = [m for m in messages if m["from"]["is_bot"] and "Kết quả bỏ phiếu" in m["html"]]
    assert "thu về: 12" in result["html"] and "KHÔNG" not in result["html"] and UNITS[4] in result["html"]
    document = next(m for m in messages if m["document"] and m["document"]["name"].endswith(".docx"))
    async with page.http.get(f"{page.url}/api/file/{document['document']['file_id']}") as r:
        doc = Document(io.BytesIO(await r.read()))
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows
                                                          for c in row.cells])
    assert "Quảng Ninh, ngày" in text and "Số: 01/BB-KP" in text and "lập thành 3 bản" in text
    assert "Số đơn vị có mặt tại Hội nghị: 13 (mười ba) đơn vị." in text
    assert "Lan, TTYT huyện Tiên Yên – Trưởng ban" in text  # the sealed box's committee, by name and unit
    assert "không có giá trị" not in text and f"1. {UNITS[4]}: 8/14 phiếu" in text


async def test_vote_with_chart_and_minutes(page: Page):
    group = (await page.state())["group_id"]
    await page.send("head", group, "/vote flag")
    card = await page.last_bot("head", group, "Bỏ phiếu kín")
    (link,) = [b["url"] for row in card["buttons"] for b in row if b["url"]]
    assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=v_")
    for persona, chat, pick in (("deputy", DEPUTY, 5), ("mai", MAI, 5), ("tuan", TUAN, 1)):
        status, _ = await page.post("/api/open", {"persona": persona, "url": link})
        assert status == 200
        ballot = (await page.messages(persona, chat))[-1]
        await page.click(persona, chat, ballot, UNITS[pick - 1] if pick != 5 else UNITS[4])
        ballot = next(m for m in await page.messages(persona, chat) if m["id"] == ballot["id"])
        await page.click(persona, chat, ballot, "Tiếp")
        ballot = next(m for m in await page.messages(persona, chat) if m["id"] == ballot["id"])
        await page.click(persona, chat, ballot, "Gửi phiếu")
        receipt = next(m for m in await page.messages(persona, chat) if m["id"] == ballot["id"])
        assert "Mã biên nhận" in receipt["html"] and receipt["edited"]  # edited in place, as Telegram shows
    # The casts marked the card; the scheduler edits it within CARD_DELAY seconds of the app's clock,
    # which is a fake one here: the pass is made by hand.
    await page.sandbox.app.cards.flush(everything=True)
    card = next(m for m in await page.messages("head", group) if m["id"] == card["id"])
    assert "3/14" in card["html"]
    await page.send("head", group, "/close")
    confirm = await page.last_bot("head", group, "")
    await page.click("head", group, confirm, "Đóng")
    for persona, chat in (("head", HEAD), ("deputy", DEPUTY)):  # the committee hands back its keys
        key = next(m for m in reversed(await page.messages(persona, chat)) if "Khóa hòm phiếu" in m["html"])
        await page.click(persona, chat, key, "Nộp khóa")
    messages = await page.messages("head", group)
    assert any("Kết quả" in m["html"] for m in messages if m["from"]["is_bot"])
    photo = next(m for m in reversed(messages) if m["photo"])  # this vote's, not the demo's finished one
    document = next(m for m in reversed(messages) if m["document"] and m["document"]["name"].endswith(".docx"))
    assert photo["id"] > card["id"] and document["id"] > card["id"]
    async with page.http.get(f"{page.url}/api/file/{photo['photo']['file_id']}") as r:
        assert r.content_type == "image/png" and (await r.read()).startswith(b"\x89PNG")
    async with page.http.get(f"{page.url}/api/file/{document['document']['file_id']}") as r:
        assert "attachment" in r.headers["Content-Disposition"] and (await r.read()).startswith(b"PK")
    assert UNITS[4] in photo["html"] or any(UNITS[4] in m["html"] for m in messages if "Kết quả" in m["html"])


async def test_html_shown_as_telegram_shows_it(page: Page):
    group = (await page.state())["group_id"]
    await page.send("head", group, "/addunit <img src=x onerror=alert(1)> & <b>Sở</b>")
    mine = [m for m in await page.messages("head", group) if m["from"]["id"] == HEAD][-1]
    assert "<img" not in mine["html"] and "&lt;img src=x onerror=alert(1)&gt;" in mine["html"]
    assert 'data-command="/addunit"' in mine["html"]  # commands are tappable, as in Telegram
    answer = (await page.bot_html("head", group))[-1]
    assert "<img" not in answer and "&lt;b&gt;Sở&lt;/b&gt;" in answer  # the unit's name is text ...
    setup = await page.last_bot("head", group, "đã được lập thành")
    assert "<b>Khối thi đua các Trung tâm Y tế" in setup["html"]  # ... the bot's own formatting is kept


async def test_refusals_change_nothing(page: Page):
    sandbox = page.sandbox
    group = (await page.state())["group_id"]
    before = (sandbox.tg.pushed, len(sandbox.tg.history[group]))
    status, body = await page.send("guest", group, "/status")  # not in the group
    assert status == 403 and "Khách không ở trong cuộc trò chuyện này" in body["error"]
    status, body = await page.send("guest", HEAD, "xin chào")  # someone else's private chat
    assert status == 403
    status, body = await page.send("nobody", group, "/status")
    assert status == 400 and "Không có người này" in body["error"]
    async with page.http.post(page.url + "/api/send", data=b"{not json", params={"lang": "en"}) as r:
        assert r.status == 400 and (await r.json())["error"] == "The request could not be read."
    status, body = await page.post("/api/open", {"persona": "guest", "url": "https://t.me/other_bot?start=x"})
    assert status == 400 and "không dẫn tới bot" in body["error"]
    status, body = await page.send("head", HEAD, "   ")
    assert status == 400 and "nhập tin nhắn" in body["error"]
    assert (sandbox.tg.pushed, len(sandbox.tg.history[group])) == before

    # A forged invite link: the bot itself says it is not valid; the outsider joins nothing.
    forged = f"https://t.me/{BOT_USERNAME}?start=j_AAAAAAAAAAAAAAAAAAAAAA"
    status, _ = await page.send("guest", GUEST, forged)  # pasted link = tapped link
    assert status == 200 and "không đúng" in (await page.bot_html("guest", GUEST))[-1]
    await page.send("guest", GUEST, "/whoami")
    assert "TTYT" not in (await page.bot_html("guest", GUEST))[-1]

    # A file larger than the bot's limit (20 MB): the bot says so, no unit is added.
    await page.send("head", group, "/units")
    units_before = (await page.bot_html("head", group))[-1]
    form = aiohttp.FormData()
    form.add_field("persona", "head")
    form.add_field("chat", str(HEAD))
    form.add_field("file", b"TTYT X\n" * (3 * 1024 * 1024 + 10), filename="donvi.csv", content_type="text/csv")
    status, _ = await page.post("/api/upload", form)
    assert status == 200
    assert "Tệp quá lớn (tối đa 20 MB)" in (await page.bot_html("head", HEAD))[-1]
    await page.send("head", group, "/units")
    assert (await page.bot_html("head", group))[-1] == units_before
    # Larger than the page accepts at all: refused before it reaches the chat.
    pushed = sandbox.tg.pushed
    form = aiohttp.FormData()
    form.add_field("persona", "head")
    form.add_field("chat", str(HEAD))
    form.add_field("file", b"\0" * (51 * 1024 * 1024), filename="big.bin")
    status, body = await page.post("/api/upload", form)
    assert status == 413 and "50 MB" in body["error"] and sandbox.tg.pushed == pushed


async def test_restart_keeps_chats_and_bloc(tmp_path, clock):
    first = await start_sandbox(tmp_path / "sb", demo=True, clock=clock)
    group = first.current_group()
    async with aiohttp.ClientSession() as http:
        page = Page(first, http)
        await page.send("head", group, "/vote flag")
        card = await page.last_bot("head", group, "Bỏ phiếu kín")
    await first.stop()

    second = await start_sandbox(tmp_path / "sb", demo=True, clock=clock)  # --demo again: not seeded twice
    try:
        async with aiohttp.ClientSession() as http:
            page = Page(second, http)
            messages = await page.messages("head", group)
            assert any(m["id"] == card["id"] for m in messages)
            assert sum("Đã thêm 14 đơn vị" in m["html"] for m in messages) == 1
            link = [b["url"] for row in card["buttons"] for b in row if b["url"]][0]
            await page.post("/api/open", {"persona": "mai", "url": link})
            ballot = (await page.messages("mai", MAI))[-1]
            assert "Cờ thi đua" in ballot["html"] or any(UNITS[0] in b["text"] for r in ballot["buttons"] for b in r)
            await page.send("head", group, "/status")
            assert "đã có đại diện: 12/14" in (await page.last_bot("head", group, "đã có đại diện"))["html"]
    finally:
        await second.stop()


async def test_without_demo_the_head_starts_from_setup(tmp_path, clock):
    sandbox = await start_sandbox(tmp_path / "fresh", demo=False, clock=clock)
    try:
        async with aiohttp.ClientSession() as http:
            page = Page(sandbox, http)
            group = (await page.state())["group_id"]
            texts = await page.bot_html("head", group)
            assert len(texts) == 1 and "/setup" in texts[0]
            await page.send("head", group, "/setup Khối thử")
            assert re.search("đã được lập thành", (await page.bot_html("head", group))[-1])
    finally:
        await sandbox.stop()
