"""Composition root: settings -> database -> Bot + Dispatcher + middlewares + routers + workers.

Start-up and shutdown are aiogram's own: `dp.startup` / `dp.shutdown` observers. `start_polling`
emits them itself, and in webhook mode `setup_application` does (on the aiohttp app's start-up and
clean-up); where nothing emits them (the sandbox, the e2e harness, tests) call
`await dp.emit_startup(bot=bot, **dp.workflow_data)` and `dp.emit_shutdown(...)` once.

One clock per app: `App.scheduler`, an APScheduler AsyncIOScheduler with the in-memory job store
(the database is the truth; the scheduler only wakes things). It wakes the outbox worker and runs
every feature's periodic jobs (`@conv.every(seconds)`, `app.table.jobs`)."""

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
from aiogram.fsm.storage.redis import RedisStorage
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.base import ChannelSender
from bot.channels.telegram import TelegramSender
from bot.channels.zalo.front import ZaloSender
from bot.channels.zalo.service import ZaloService
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.conversations.core import CardKey, Ctx, Job, MemoryState, Outcome, Table
from bot.conversations.groupcopy import copy_outcome
from bot.conversations.table import build_table
from bot.outbox import OutboxService, OutboxWorker
from bot.services.ballot_box import KeyVault
from handlers import build_router
from handlers.bridge import FsmStates, TelegramDelivery
from handlers.middlewares import ContextMiddleware, DbSessionMiddleware
from storage.db import Database

log = logging.getLogger(__name__)


def make_bot(settings: Settings, token: str | None = None) -> Bot:
    token = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if token is None:  # the command line checks BOT_TOKEN first (bot/__main__.py)
        raise RuntimeError("BOT_TOKEN is not set")
    session = None
    if settings.telegram_api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        ttl = max(1, settings.fsm_ttl_hours) * 3600
        return RedisStorage.from_url(settings.redis_url, state_ttl=ttl, data_ttl=ttl)
    return MemoryStorage()


@dataclass
class App:
    settings: Settings
    db: Database
    dp: Dispatcher
    clock: Clock
    table: Table
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone="UTC"))
    bot: Bot | None = None  # known from start-up on
    zalo: ZaloService | None = None  # with ZALO_BOT_TOKEN: the same table served on Zalo
    extras: dict[str, Any] = field(default_factory=dict)

    def kick(self) -> None:
        """Wake this process's outbox worker (rows due now were queued)."""
        service = self.extras.get("outbox")
        if service is not None:
            service.kick()

    def senders(self, bot: Bot) -> dict[str, ChannelSender]:
        """The outbox's senders, by `Person.channel`: Telegram, and Zalo when it is configured (rows
        for people on a channel this process does not serve stay pending)."""
        senders: dict[str, ChannelSender] = {"telegram": TelegramSender(bot, self.dp.get("bot_username") or "")}
        if self.zalo is not None:
            senders["zalo"] = ZaloSender(self.zalo.front)
        return senders

    async def refresh_cards(self, keys: list[CardKey]) -> None:
        """Cards changed by a step on another front (Zalo): edit them in the Telegram group."""
        if self.bot is not None:
            await self.deliver(Outcome(refresh=keys))

    @property
    def vault(self) -> KeyVault:
        return self.dp["vault"]

    async def deliver_outcome(self, ctx: Ctx, outcome: Outcome) -> None:
        """Send an Outcome built inside `ctx` (a periodic job's session) outside any update."""
        if self.bot is None:
            raise RuntimeError("App.deliver_outcome before start-up: the bot is not known yet")
        outcome = await copy_outcome(ctx, outcome)  # group posts also reach members off the group
        await TelegramDelivery(self.bot, self.table, ctx, None, None).send_all(outcome)

    async def deliver(self, outcome: Outcome) -> None:
        """Send an Outcome outside any update (periodic jobs, e.g. closing a vote at its time):
        `Out`s addressed ToPerson/ToGroup go through the Telegram front's sending code, cards in
        `outcome.refresh` are re-rendered. There is no pressed message and no actor: `HERE`
        replies and `replace` edits have nowhere to go."""
        if self.bot is None:
            raise RuntimeError("App.deliver before start-up: the bot is not known yet")
        async with self.db.session() as session:
            ctx = Ctx(session=session, clock=self.clock, settings=self.settings, vault=self.dp["vault"],
                      state=MemoryState({}, ()), states=FsmStates(self.dp.storage, self.bot.id), kick=self.kick,
                      table=self.table,
                      extras={"bot_username": self.dp.get("bot_username", ""), "app": self})
            outcome = await copy_outcome(ctx, outcome)
            await TelegramDelivery(self.bot, self.table, ctx, None, None).send_all(outcome)


async def run_job(app: App, job: Job) -> None:
    """One pass of a periodic job; a failure is logged and the next interval tries again."""
    try:
        await job(app)
    except Exception:
        log.exception("periodic job %s failed; the next run retries", getattr(job, "__qualname__", job))


def schedule_jobs(app: App) -> None:
    for seconds, job in app.table.jobs:
        name = f"{getattr(job, '__module__', '')}.{getattr(job, '__qualname__', repr(job))}"
        app.scheduler.add_job(run_job, "interval", seconds=seconds, args=(app, job), id=f"every:{name}",
                              coalesce=True, max_instances=1, replace_existing=True)


async def on_startup(bot: Bot, app: App) -> None:
    """dp.startup: the clock, the outbox worker, the periodic jobs."""
    app.bot = bot
    service = OutboxService(OutboxWorker(app.db, app.senders(bot), app.clock), app.scheduler)
    app.extras["outbox"] = service
    schedule_jobs(app)
    app.scheduler.start()
    await service.start()
    if app.zalo is not None:
        await app.zalo.start()


async def on_shutdown(app: App) -> None:
    """dp.shutdown: stop the clock and the outbox worker (their rows stay in the database)."""
    if app.zalo is not None:
        await app.zalo.stop()
    service = app.extras.pop("outbox", None)
    if service is not None:
        await service.stop()
    if app.scheduler.running:
        app.scheduler.shutdown(wait=False)


def build_dispatcher(settings: Settings, db: Database, clock: Clock | None = None,
                     storage: BaseStorage | None = None, table: Table | None = None) -> App:
    clock = clock or SystemClock()
    table = table if table is not None else build_table()
    dp = Dispatcher(storage=storage or make_storage(settings))
    dp.update.outer_middleware(DbSessionMiddleware(db))
    dp.update.outer_middleware(ContextMiddleware(clock, settings))
    dp.include_router(build_router(table))
    dp["db"] = db
    dp["vault"] = KeyVault()  # key shares handed back for locked ballot boxes: this process's memory only
    app = App(settings=settings, db=db, dp=dp, clock=clock, table=table)
    if settings.zalo_enabled:
        app.zalo = ZaloService(settings, db, table, clock, dp["vault"])
        app.zalo.front.text.kick = app.kick
        app.zalo.front.text.on_refresh = app.refresh_cards
    dp["app"] = app
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app


async def prepare(app: App, bot: Bot) -> None:
    """What must happen once the bot is known: its username (for deep links), its command menu."""
    me = await bot.get_me()
    app.dp["bot_username"] = me.username
    log.info("bot @%s ready", me.username)
