"""Composition root: settings -> database -> Bot + Dispatcher + middlewares + routers + workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.conversations import pledge, voting
from bot.conversations.core import Table
from bot.outbox import install as install_outbox
from bot.services import reminders
from bot.services.ballot_box import KeyVault
from handlers import build_router
from handlers.middlewares import ContextMiddleware, DbSessionMiddleware
from storage.db import Database

log = logging.getLogger(__name__)


def make_bot(settings: Settings, token: str | None = None) -> Bot:
    token = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    session = None
    if settings.telegram_api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        ttl = max(1, settings.fsm_ttl_hours) * 3600
        return RedisStorage.from_url(settings.redis_url, state_ttl=ttl, data_ttl=ttl)
    return MemoryStorage()


def build_table() -> Table:
    """Every feature's conversation entries, in the order they are tried (feature deep links and
    commands before the core's catch-alls)."""
    table = Table([voting.conv, pledge.conv])
    for source in table.deadline_sources:
        reminders.register_source(source)
    return table


@dataclass
class App:
    settings: Settings
    db: Database
    dp: Dispatcher
    clock: Clock
    table: Table
    extras: dict[str, Any] = field(default_factory=dict)

    def kick(self) -> None:
        """Wake this process's outbox worker (rows due now were queued)."""
        service = self.extras.get("outbox")
        if service is not None:
            service.kick()


def build_dispatcher(settings: Settings, db: Database, clock: Clock | None = None,
                     storage: BaseStorage | None = None) -> App:
    clock = clock or SystemClock()
    table = build_table()
    dp = Dispatcher(storage=storage or make_storage(settings))
    dp.update.outer_middleware(DbSessionMiddleware(db))
    dp.update.outer_middleware(ContextMiddleware(clock, settings))
    dp.callback_query.middleware(CallbackAnswerMiddleware())  # every pressed button is answered once
    dp.include_router(build_router(table))
    dp["db"] = db
    dp["vault"] = KeyVault()  # key shares handed back for locked ballot boxes: this process's memory only
    app = App(settings=settings, db=db, dp=dp, clock=clock, table=table)
    dp["app"] = app
    install_outbox(app)  # startup/shutdown hooks: APScheduler clock + outbox worker
    return app


async def prepare(app: App, bot: Bot) -> None:
    """What must happen once the bot is known: its username (for deep links), its command menu."""
    me = await bot.get_me()
    app.dp["bot_username"] = me.username
    log.info("bot @%s ready", me.username)
