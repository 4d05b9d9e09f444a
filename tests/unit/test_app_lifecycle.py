"""The app's lifecycle on aiogram's startup/shutdown events: one APScheduler clock that wakes the
outbox and runs every feature's periodic job (`@conv.every`), and `App.deliver` for jobs that
send outside an update."""

from __future__ import annotations

import asyncio
import contextlib

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import App, build_dispatcher
from bot.config import Settings
from bot.conversations.core import CardKey, CardView, Conversations, Out, Outcome, Table, ToGroup, ToPerson
from bot.fakeapi import FakeTelegram
from bot.outbox import kick_all
from bot.views.base import Reply
from storage.models import Bloc, Person

TOKEN = "123456:LIFECYCLE-test"


@contextlib.asynccontextmanager
async def started_app(db, db_url, clock, table: Table):
    """Build the app with `table` and emit the Dispatcher's startup (nothing polls here), then shutdown."""
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    settings = Settings(_env_file=None, bot_token=TOKEN, database_url=db_url, telegram_api_base=tg.base_url)
    app = build_dispatcher(settings, db, clock=clock, storage=MemoryStorage(), table=table)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    await app.dp.emit_startup(bot=bot, **app.dp.workflow_data)
    try:
        yield tg, app, bot
    finally:
        await app.dp.emit_shutdown(bot=bot, **app.dp.workflow_data)
        await bot.session.close()
        await tg.stop()


async def test_every_job_runs_on_the_app_scheduler_and_a_failure_is_retried(db, db_url, clock):
    conv = Conversations("ticker")
    passes: list[App] = []
    second_pass = asyncio.Event()

    @conv.every(0.05)
    async def tick(app) -> None:
        passes.append(app)
        if len(passes) == 1:
            raise RuntimeError("the first pass fails")  # logged; the next interval runs again
        second_pass.set()

    async with started_app(db, db_url, clock, Table([conv])) as (_tg, app, _bot):
        assert app.scheduler.running and app.extras["outbox"].running
        jobs = [j for j in app.scheduler.get_jobs() if j.id.startswith("every:")]
        assert len(jobs) == 1 and jobs[0].coalesce and jobs[0].max_instances == 1
        assert app.scheduler.get_job("outbox-interval") is not None  # the outbox wakes on the same clock
        await asyncio.wait_for(second_pass.wait(), timeout=30)
        assert all(p is app for p in passes)
    assert not app.scheduler.running and "outbox" not in app.extras
    kick_all()  # no stopped service is left registered


async def test_deliver_sends_to_a_person_and_the_group_outside_an_update(db, db_url, clock):
    async with started_app(db, db_url, clock, Table([])) as (tg, app, _bot):
        head = tg.add_user("Lan")
        tg.started.add(head["id"])
        group = await tg.create_group("Khối", head)
        async with db.session() as s:
            bloc = Bloc(chat_id=group["id"], title="Khối A", year=2026, created_at=clock.now())
            person = Person(external_id=head["id"], full_name="Lan", started=True, created_at=clock.now())
            s.add_all([bloc, person])
            await s.commit()
        await app.deliver(Outcome(out=[Out(Reply("Phiếu đã đóng"), to=ToGroup(bloc)),
                                       Out(Reply("Chào Lan"), to=ToPerson(person))]))
        assert tg.bot_texts(group["id"])[-1] == "Phiếu đã đóng"
        assert tg.bot_texts(head["id"]) == ["Chào Lan"]


async def test_deliver_remembers_a_card_and_refreshes_it_outside_an_update(db, db_url, clock):
    conv = Conversations("tally")
    posted: dict[int, int] = {}
    count = {"n": 0}
    blocs: dict[int, Bloc] = {}

    async def render(ctx, card_id: int) -> CardView | None:
        return CardView(blocs[card_id], Reply(f"Đã bầu: {count['n']}"), posted.get(card_id))

    async def remember(ctx, card_id: int, message_id: int) -> None:
        posted[card_id] = message_id

    conv.card("tally", render, remember)
    async with started_app(db, db_url, clock, Table([conv])) as (tg, app, _bot):
        head = tg.add_user("Lan")
        group = await tg.create_group("Khối", head)
        async with db.session() as s:
            bloc = Bloc(chat_id=group["id"], title="Khối A", year=2026, created_at=clock.now())
            s.add(bloc)
            await s.commit()
        blocs[1] = bloc
        await app.deliver(Outcome(out=[Out(Reply("Đã bầu: 0"), to=ToGroup(bloc), card=CardKey("tally", 1))]))
        assert 1 in posted
        count["n"] = 3
        await app.deliver(Outcome(refresh=[CardKey("tally", 1)]))
        assert tg.bot_texts(group["id"])[-1] == "Đã bầu: 3"
