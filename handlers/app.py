"""The Telegram half of the composition root (bot/app.py): the aiogram Bot, the Dispatcher with its
middlewares and routers, FSM storage (memory, or Redis with REDIS_URL), and the Telegram ways of
delivering outside an update. Imported only when BOT_TOKEN is set (or by tests), so a Zalo-only
process never imports aiogram."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import App, build_app, on_shutdown, start_workers
from bot.channels.base import ChannelSender
from bot.channels.telegram import TelegramSender
from bot.clock import Clock
from bot.config import Settings
from bot.conversations.core import Ctx, MemoryState, Outcome, Table
from bot.conversations.groupcopy import copy_outcome
from handlers import build_router
from handlers.bridge import FsmStates, TelegramDelivery
from handlers.middlewares import ContextMiddleware, DbSessionMiddleware
from storage.db import Database

log = logging.getLogger(__name__)


def make_bot(settings: Settings, token: str | None = None) -> Bot:
    token = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if token is None:  # the command line checks the tokens first (bot/__main__.py)
        raise RuntimeError("BOT_TOKEN is not set")
    session = None
    if settings.telegram_api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage  # imports redis: only when it is used

        ttl = max(1, settings.fsm_ttl_hours) * 3600
        return RedisStorage.from_url(settings.redis_url, state_ttl=ttl, data_ttl=ttl)
    return MemoryStorage()


class TelegramOut:
    """How App sends outside an update when the bot is Telegram's (App.deliver / deliver_outcome)."""

    def __init__(self, app: App, bot: Bot) -> None:
        self.app, self.bot = app, bot

    def senders(self) -> dict[str, ChannelSender]:
        return {"telegram": TelegramSender(self.bot, self.app.dp.get("bot_username") or "")}

    async def deliver_outcome(self, ctx: Ctx, outcome: Outcome) -> None:
        outcome = await copy_outcome(ctx, outcome)  # group posts also reach members off the group
        await TelegramDelivery(self.bot, self.app.table, ctx, None, None).send_all(outcome)

    async def deliver(self, outcome: Outcome) -> None:
        app = self.app
        async with app.db.session() as session:
            ctx = Ctx(session=session, clock=app.clock, settings=app.settings, vault=app.vault,
                      state=MemoryState({}, ()), states=FsmStates(app.dp.storage, self.bot.id), kick=app.kick,
                      table=app.table, extras={"bot_username": app.dp.get("bot_username", ""), "app": app})
            await self.deliver_outcome(ctx, outcome)


async def on_startup(bot: Bot, app: App) -> None:
    """dp.startup: the bot is known; the clock, the outbox worker, the periodic jobs, Zalo."""
    app.bot = bot
    app.out = TelegramOut(app, bot)
    await start_workers(app)


def build_dispatcher(settings: Settings, db: Database, clock: Clock | None = None,
                     storage: BaseStorage | None = None, table: Table | None = None) -> App:
    app = build_app(settings, db, clock, table)
    dp = Dispatcher(storage=storage or make_storage(settings))
    dp.update.outer_middleware(DbSessionMiddleware(db))
    dp.update.outer_middleware(ContextMiddleware(app.clock, settings))
    dp.include_router(build_router(app.table))
    dp["db"] = db
    dp["vault"] = app.vault  # key shares handed back for locked ballot boxes (bot/services/ballot_box.py)
    dp["app"] = app
    app.dp = dp
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app


async def prepare(app: App, bot: Bot) -> None:
    """What must happen once the bot is known: its username (for deep links), its command menu."""
    me = await bot.get_me()
    app.dp["bot_username"] = me.username
    log.info("bot @%s ready", me.username)
