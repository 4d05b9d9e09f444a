"""The fake answers and refuses like Telegram, seen through a real aiogram client."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.fakeapi import FakeTelegram


@pytest.fixture
async def tg():
    async with FakeTelegram(token="42:T") as fake:
        yield fake


@pytest.fixture
async def bot(tg):
    b = Bot("42:T", session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)),
            default=DefaultBotProperties(parse_mode="HTML"))
    yield b
    await b.session.close()


async def test_get_me_and_wrong_token(tg, bot):
    me = await bot.get_me()
    assert me.is_bot and me.username == "thidua_test_bot" and isinstance(me.id, int)
    wrong = Bot("41:X", session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    with pytest.raises(TelegramUnauthorizedError):
        await wrong.get_me()
    await wrong.session.close()


async def test_cannot_write_first_and_blocked(tg, bot):
    user = tg.add_user("An")
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(user["id"], "hi")
    await tg.press_start(user)
    sent = await bot.send_message(user["id"], "<b>hi</b> &amp; bye")
    assert sent.text == "hi & bye" and isinstance(sent.date.timestamp(), float)
    await tg.block_bot(user)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(user["id"], "again")


async def test_bad_html_long_text_and_callback_data(tg, bot):
    user = tg.add_user("An")
    await tg.press_start(user)
    for bad in ("<b>open", "a < b", "Tom & Jerry", "<script>x</script>", "<b><i>x</b></i>"):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(user["id"], bad)
    await bot.send_message(user["id"], "a < b & c", parse_mode=None)  # plain text is fine
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user["id"], "x" * 4097)
    await bot.send_message(user["id"], "<b>" + "x" * 4096 + "</b>")  # tags do not count
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="x" * 65)]])
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user["id"], "t", reply_markup=markup)


async def test_edit_not_modified_and_not_found(tg, bot):
    user = tg.add_user("An")
    await tg.press_start(user)
    sent = await bot.send_message(user["id"], "one")
    await bot.edit_message_text("two", chat_id=user["id"], message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("two", chat_id=user["id"], message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=user["id"], message_id=999)
    assert tg.messages(user["id"], from_bot=True)[0]["edits"] == [{"text": "one", "html": "one", "reply_markup": None}]


async def test_flood_injection_and_limits(tg, bot):
    user = tg.add_user("An")
    await tg.press_start(user)
    tg.inject_error("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user["id"], "x")
    assert caught.value.retry_after == 7
    await bot.send_message(user["id"], "now fine")
    now = [100.0]
    tg.clock = lambda: now[0]
    tg.enforce_limits(global_per_sec=30, per_group_per_min=20, per_chat_per_sec=1)
    await bot.send_message(user["id"], "1")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(user["id"], "2")
    now[0] += 1.01
    await bot.send_message(user["id"], "3")
    group = await tg.create_group("G", creator=user)
    for i in range(20):
        now[0] += 1.01
        await bot.send_message(group["id"], f"g{i}")
    now[0] += 1.01
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(group["id"], "21st in a minute")
    assert caught.value.retry_after >= 1


async def test_group_kicked_migrated_and_members(tg, bot):
    owner, admin, plain = tg.add_user("O"), tg.add_user("A"), tg.add_user("P")
    group = await tg.create_group("Khối", creator=owner, admins=[admin], members=[plain])
    assert (await bot.get_chat_member(group["id"], admin["id"])).status == "administrator"
    assert (await bot.get_chat_member(group["id"], plain["id"])).status == "member"
    assert (await bot.get_chat_member(group["id"], owner["id"])).status == "creator"
    new = await tg.migrate_to_supergroup(group, owner)
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(group["id"], "x")
    assert caught.value.migrate_to_chat_id == new["id"]
    await bot.send_message(new["id"], "hello supergroup")
    await tg.remove_bot(new, owner)
    with pytest.raises(TelegramForbiddenError, match="kicked"):
        await bot.send_message(new["id"], "x")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-42, "x")


async def test_updates_document_roundtrip_and_callbacks(tg, bot):
    user = tg.add_user("An")
    await tg.send_text(user, tg.private_chat(user), "/help@thidua_test_bot")
    updates = await bot.get_updates(timeout=1)
    message = updates[-1].message
    assert message.text.startswith("/help") and message.entities[0].type == "bot_command"
    assert message.from_user.is_bot is False
    sent = await bot.send_document(user["id"], BufferedInputFile(b"PK-bytes", filename="bb.docx"), caption="<i>x</i>")
    assert sent.document.file_name == "bb.docx"
    stored = tg.messages(user["id"], from_bot=True)[-1]
    assert tg.file_bytes(stored["document"]["file_id"]) == b"PK-bytes"
    data = await bot.download(sent.document.file_id)
    assert data.read() == b"PK-bytes"
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="ok")]])
    card = await bot.send_message(user["id"], "card", reply_markup=markup)
    query = await tg.click(user, tg.messages(user["id"], from_bot=True)[-1], "ok")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    assert updates[-1].callback_query.data == "ok" and updates[-1].callback_query.message.message_id == card.message_id
    await bot.answer_callback_query(query, text="done")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query, text="again")
