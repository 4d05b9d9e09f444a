"""Composition root: settings -> database -> conversation table -> workers, and the fronts.

The Telegram front (aiogram's Bot + Dispatcher + middlewares + routers) is wired in
handlers/app.py, imported only when it is used: a process serving only Zalo never imports
aiogram. `build_dispatcher`, `make_bot`, `make_storage` and `prepare` are still importable from here
(they are fetched from handlers/app.py on first use).

Start-up and shutdown with Telegram are aiogram's own: `dp.startup` / `dp.shutdown` observers.
`start_polling` emits them itself, and in webhook mode `setup_application` does (on the aiohttp
app's start-up and clean-up); where nothing emits them (the sandbox, the e2e harness, tests) call
`await dp.emit_startup(bot=bot, **dp.workflow_data)` and `dp.emit_shutdown(...)` once. Without
Telegram, bot/runner.py calls `start_workers` and `on_shutdown` itself.

One clock per app: `App.scheduler`, an APScheduler AsyncIOScheduler with the in-memory job store
(the database is the truth; the scheduler only wakes things). It wakes the outbox worker and runs
every feature's periodic jobs (`@conv.every(seconds)`, `app.table.jobs`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.base import ChannelSender
from bot.channels.textfront import TextDelivery
from bot.channels.zalo.front import ZaloSender
from bot.channels.zalo.service import ZaloService
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.conversations.core import Actor, CardKey, Chat, Ctx, Job, MemoryStates, Outcome, Table
from bot.conversations.groupcopy import copy_outcome
from bot.conversations.table import build_table
from bot.outbox import OutboxService, OutboxWorker
from bot.services.ballot_box import KeyVault
from bot.services.vault import make_vault
from storage.db import Database, retry_wal_truncation

log = logging.getLogger(__name__)
CARD_DELAY = 3.0  # seconds a card may lag behind a change that marked it (Telegram: 20 edits/min per group)
CARD_TICK = 1.0  # seconds between two looks at the marked cards
WAL_RETRY = 10.0  # seconds between two tries to cut a -wal that a reader held up (SQLite)
_TELEGRAM_NAMES = ("build_dispatcher", "make_bot", "make_storage", "prepare", "on_startup")


def __getattr__(name: str) -> Any:
    """`from bot.app import build_dispatcher` (and the other Telegram names) imports aiogram then."""
    if name in _TELEGRAM_NAMES:
        from handlers import app as telegram_app

        return getattr(telegram_app, name)
    raise AttributeError(name)


class Sending(Protocol):
    """How the app sends outside an update: the Telegram front's (handlers/app.TelegramOut) or,
    with only Zalo, the text front's (`ZaloOut`)."""

    def senders(self) -> dict[str, ChannelSender]: ...

    async def deliver_outcome(self, ctx: Ctx, outcome: Outcome) -> None: ...

    async def deliver(self, outcome: Outcome) -> None: ...


class CardRefresher:
    """Card edits that may wait a little: a cast changes the vote card's turnout line, and 14 casts
    in a minute need not be 14 edits of the group card (nor 14 renders on the casts' own path). A
    step marks the card (after its transaction is committed); the app's scheduler edits each marked
    card once it has been marked for `delay` seconds, with what the database says then. So a card
    is edited at most once per `delay` and shows every change at most `delay` + CARD_TICK later.
    Marks live in this process: an instance that stops first edits what it has (`flush(everything=True)`
    on shutdown); one that dies loses them, and the card catches up at its next change."""

    def __init__(self, app: App, delay: float = CARD_DELAY) -> None:
        self.app, self.delay = app, delay
        self.marked: dict[CardKey, datetime] = {}

    def mark(self, *keys: CardKey) -> None:
        now = self.app.clock.now()
        for key in keys:
            self.marked.setdefault(key, now)  # the first mark counts: a steady stream still gets edits

    async def flush(self, everything: bool = False) -> list[CardKey]:
        """Edit the cards marked `delay` seconds ago or more (all of them with `everything`)."""
        now = self.app.clock.now()
        due = [k for k, at in self.marked.items() if everything or (now - at).total_seconds() >= self.delay]
        for key in due:
            del self.marked[key]
        if due:
            await self.app.refresh_cards(due)
        return due


@dataclass
class App:
    settings: Settings
    db: Database
    clock: Clock
    table: Table
    dp: Any = None  # aiogram's Dispatcher when Telegram is served (handlers/app.py)
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone="UTC"))
    bot: Any = None  # aiogram's Bot, known from start-up on
    zalo: ZaloService | None = None  # with ZALO_BOT_TOKEN: the same table served on Zalo
    out: Sending | None = None  # known from start-up on
    extras: dict[str, Any] = field(default_factory=dict)
    _vault: KeyVault | None = None
    cards: CardRefresher = field(init=False)

    def __post_init__(self) -> None:
        self.cards = CardRefresher(self)

    def kick(self) -> None:
        """Wake this process's outbox worker (rows due now were queued)."""
        service = self.extras.get("outbox")
        if service is not None:
            service.kick()

    def senders(self, bot: Any = None) -> dict[str, ChannelSender]:
        """The outbox's senders, by `Person.channel`: Telegram when it is served, Zalo when it is
        configured (rows for people on a channel this process does not serve stay pending)."""
        senders: dict[str, ChannelSender] = dict(self.out.senders()) if self.out is not None else {}
        if self.zalo is not None:
            senders["zalo"] = ZaloSender(self.zalo.front)
        return senders

    async def refresh_cards(self, keys: list[CardKey]) -> None:
        """Cards changed by a step on another front (Zalo): edit them in the Telegram group."""
        if self.bot is not None:
            await self.deliver(Outcome(refresh=keys))

    @property
    def vault(self) -> KeyVault:
        if self.dp is not None and "vault" in self.dp.workflow_data:
            return self.dp["vault"]
        assert self._vault is not None
        return self._vault

    async def deliver_outcome(self, ctx: Ctx, outcome: Outcome) -> None:
        """Send an Outcome built inside `ctx` (a periodic job's session) outside any update."""
        if self.out is None:
            raise RuntimeError("App.deliver_outcome before start-up: the bot is not known yet")
        await self.out.deliver_outcome(ctx, outcome)

    async def deliver(self, outcome: Outcome) -> None:
        """Send an Outcome outside any update (periodic jobs, e.g. closing a vote at its time):
        `Out`s addressed ToPerson/ToGroup go through the front's sending code, cards in
        `outcome.refresh` are re-rendered. There is no pressed message and no actor: `HERE`
        replies and `replace` edits have nowhere to go."""
        if self.out is None:
            raise RuntimeError("App.deliver before start-up: the bot is not known yet")
        await self.out.deliver(outcome)


class ZaloOut:
    """Sending outside an update when only Zalo is served: the text front's delivery."""

    _NOWHERE = Chat("zalo", 0, False)

    def __init__(self, app: App, zalo: ZaloService) -> None:
        self.app, self.zalo = app, zalo

    def senders(self) -> dict[str, ChannelSender]:
        return {}

    async def deliver_outcome(self, ctx: Ctx, outcome: Outcome) -> None:
        outcome = await copy_outcome(ctx, outcome)  # group posts reach the members (no group on Zalo)
        await TextDelivery(self.zalo.front.text, ctx, Actor(None, None, None, self._NOWHERE)).send_all(outcome)

    async def deliver(self, outcome: Outcome) -> None:
        async with self.app.db.session() as session:
            states = MemoryStates()
            ctx = Ctx(session=session, clock=self.app.clock, settings=self.app.settings, vault=self.app.vault,
                      state=states.of(self._NOWHERE, 0), states=states, kick=self.app.kick, table=self.app.table,
                      extras={"app": self.app})
            await self.deliver_outcome(ctx, outcome)


async def run_job(app: App, job: Job) -> None:
    """One pass of a periodic job; a failure is logged and the next interval tries again."""
    try:
        await job(app)
    except Exception:
        log.exception("periodic job %s failed; the next run retries", getattr(job, "__qualname__", job))


async def flush_cards(app: App) -> None:
    """The card refresher's pass on the app's scheduler."""
    await app.cards.flush()


async def cut_wal(app: App) -> None:
    """A -wal cut that a reader held up after a count (storage.db.truncate_wal), done once it can be."""
    await retry_wal_truncation(app.db)


def schedule_jobs(app: App) -> None:
    app.scheduler.add_job(run_job, "interval", seconds=CARD_TICK, args=(app, flush_cards), id="cards:flush",
                          coalesce=True, max_instances=1, replace_existing=True)
    app.scheduler.add_job(run_job, "interval", seconds=WAL_RETRY, args=(app, cut_wal), id="wal:cut",
                          coalesce=True, max_instances=1, replace_existing=True)
    for seconds, job in app.table.jobs:
        name = f"{getattr(job, '__module__', '')}.{getattr(job, '__qualname__', repr(job))}"
        app.scheduler.add_job(run_job, "interval", seconds=seconds, args=(app, job), id=f"every:{name}",
                              coalesce=True, max_instances=1, replace_existing=True)


async def start_workers(app: App) -> None:
    """The clock, the outbox worker, the periodic jobs, Zalo (on dp.startup with Telegram; by
    bot/runner.py without it)."""
    if app.out is None and app.zalo is not None:
        app.out = ZaloOut(app, app.zalo)
    service = OutboxService(OutboxWorker(app.db, app.senders(), app.clock), app.scheduler)
    app.extras["outbox"] = service
    schedule_jobs(app)
    app.scheduler.start()
    await service.start()
    if app.zalo is not None:
        await app.zalo.start()


async def on_shutdown(app: App) -> None:
    """dp.shutdown: edit the cards still marked, stop the clock and the outbox worker (their rows
    stay in the database)."""
    try:
        await app.cards.flush(everything=True)
    except Exception:
        log.exception("cards not edited at shutdown; they catch up at their next change")
    if app.zalo is not None:
        await app.zalo.stop()
    service = app.extras.pop("outbox", None)
    if service is not None:
        await service.stop()
    if app.scheduler.running:
        app.scheduler.shutdown(wait=False)


def build_app(settings: Settings, db: Database, clock: Clock | None = None, table: Table | None = None) -> App:
    """Everything but the Telegram front: the table, the vault, the clock, Zalo when configured."""
    clock = clock or SystemClock()
    table = table if table is not None else build_table()
    app = App(settings=settings, db=db, clock=clock, table=table, _vault=make_vault(settings))
    if settings.zalo_enabled:
        app.zalo = ZaloService(settings, db, table, clock, app._vault)
        app.zalo.front.text.kick = app.kick
        app.zalo.front.text.on_refresh = app.refresh_cards
    return app
