"""End-to-end harness: the real bot (Bot + Dispatcher + routers + migrated database, polling over
HTTP with aiogram's own client) against the in-process fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiogram import Bot
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import App, build_dispatcher, make_bot, prepare
from bot.config import Settings
from bot.fakeapi import FakeTelegram
from storage.db import Database

TOKEN = "123456:E2E-secret-token"


@dataclass
class Running:
    tg: FakeTelegram
    app: App
    bot: Bot


@contextlib.asynccontextmanager
async def running_bot(db: Database, db_url: str, clock, **settings_overrides):
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    settings = Settings(_env_file=None, bot_token=TOKEN, database_url=db_url, telegram_api_base=tg.base_url,
                        **settings_overrides)
    app = build_dispatcher(settings, db, clock=clock, storage=MemoryStorage())
    bot = make_bot(settings)
    await prepare(app, bot)
    # start_polling emits the Dispatcher's startup (scheduler + outbox worker) and, when it stops, shutdown.
    polling = asyncio.create_task(app.dp.start_polling(bot, handle_signals=False, polling_timeout=1,
                                                       close_bot_session=False))
    while not (app.extras.get("outbox") is not None and app.extras["outbox"].running) and not polling.done():
        await asyncio.sleep(0.01)  # until the startup handlers have run
    try:
        yield Running(tg, app, bot)
    finally:
        await app.dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(polling, 5)
        if app.extras.get("outbox") is not None:  # polling ended without its shutdown event
            await app.dp.emit_shutdown(bot=bot, **app.dp.workflow_data)
        await bot.session.close()
        await tg.stop()


async def group_bloc(tg, units: tuple[str, ...] = ("TTYT huyện Tiên Yên", "TTYT thị xã Quảng Yên"),
                     opened_private: bool = False) -> tuple[dict, dict]:
    """A Telegram group made a bloc by its head Lan, with `units`: (head, group)."""
    head = tg.add_user("Lan")
    group = await tg.create_group("Khối thi đua TTYT", creator=head, members=[])
    await tg.wait_bot_message(group["id"], "Xin chào")
    if opened_private:  # the head opened the bot, so it may write to them in private
        await tg.send_text(head, tg.private_chat(head), "/start")
    await tg.send_text(head, group, "/setup Khối thi đua các TTYT")
    await tg.wait_bot_message(group["id"], "đã được lập thành")
    await tg.send_text(head, group, "/addunit\n" + "\n".join(units))
    await tg.wait_bot_message(group["id"], f"Đã thêm {len(units)} đơn vị")
    return head, group
