"""Secret-ballot numbers (printed, never asserted).

100 blocs x 14 units vote at once through the real Dispatcher (real routers, real database,
Telegram HTTP replaced by tests/support/flow.py's recorder). Each representative opens the ballot
(/start v_<poll>), ticks one candidate, confirms and casts: 4 updates, all 1400 voters concurrently,
at most INFLIGHT updates in process at a time (what `start_polling(tasks_concurrency_limit=...)` or a
webhook server's bound gives a real deployment; unbounded, 5600 updates queue on the connection pool).
Printed: ballots/s, p50/p99 latency of the cast update and of the whole ballot, beside a bare
aiogram callback echo (one handler answering the callback) measured in the same run, on SQLite
and on PostgreSQL (TEST_DATABASE_URL, else postgresql+asyncpg://postgres@127.0.0.1:5432/test, if
reachable). Then every vote is closed and checked: each ballot counted exactly once.

Beside the bare echo, a bare aiogram "ballot tick" (answer the callback, edit the message into a
new 15-button ballot, nothing else) under the same load: what aiogram itself allows a ballot step.

First, one voter at a time: p50 of each ballot step (open, tick, confirm, cast) and its SQL
statements, beside a bare aiogram callback echo fed one at a time; the group card's edits per vote.
The echo and two floors run interleaved with the ballots (after each ballot, one of each), so that
they see the same machine: a bare ballot tick, and a bare cast (aiogram + one SQLAlchemy write
transaction that reads and rewrites one row). The echo alone, in a tight loop of its own (warm
caches), is printed too: it runs 1.5-2x faster there than between real updates.

The process's garbage collector is set as `thidua run` sets it (bot.runner.settle_heap), for the
echo and for us alike; --gc-defaults leaves Python's defaults (the figures before that change).

Run: .venv/bin/python bench/bench_voting.py [blocs] [units] [--steps-only] [--gc-defaults]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Dispatcher, F, Router  # noqa: E402
from aiogram.fsm.storage.memory import MemoryStorage  # noqa: E402
from aiogram.types import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.app import build_dispatcher  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.conversations import ballot as act  # noqa: E402
from bot.conversations import voting as vote_conv  # noqa: E402
from bot.conversations.core import Actor, CardKey, Ctx, Event, MemoryStates, Out, Outcome, ToGroup  # noqa: E402
from bot.conversations.core import Chat as ConvChat  # noqa: E402
from bot.services import ballot_box  # noqa: E402
from bot.services import voting as svc  # noqa: E402
from bot.services.blocs import member_of  # noqa: E402
from handlers.bridge import TelegramDelivery  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Bloc, Person, Representative, Unit  # noqa: E402
from tests.support.flow import Flow  # noqa: E402

INFLIGHT = 100


def _delivery(app, bot, session, clock) -> TelegramDelivery:
    states = MemoryStates()
    chat = ConvChat("telegram", 0, False)
    ctx = Ctx(session=session, clock=clock, settings=app.settings, vault=app.dp["vault"], state=states.of(chat, 0),
              states=states, kick=app.kick, extras={"bot_username": "thidua_test_bot", "app": app})
    return TelegramDelivery(bot, app.table, ctx, Actor(None, None, None, chat), Event())


async def post_card(app, bot, session, clock, poll) -> None:
    """The vote card to the group, remembered (what the conversation's open does after the keys)."""
    delivery = _delivery(app, bot, session, clock)
    view = await vote_conv._render_card(delivery.ctx, poll.id)
    await delivery.send_all(Outcome([Out(view.reply, ToGroup(view.bloc), card=CardKey(vote_conv.CARD, poll.id))]))


async def deliver_shares(app, bot, session, opened, member, clock) -> None:
    """The keys to the committee in private, then the card (the conversation's own path)."""
    delivery = _delivery(app, bot, session, clock)
    await delivery.send_all(vote_conv.open_and_post(delivery.ctx, opened, member))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def seed(db: Database, clock, blocs: int, units: int) -> list[tuple[Bloc, Person, list[tuple[User, int]]]]:
    """Blocs, units and one representative per unit, written directly (setup is not what we measure)."""
    out = []
    ext = 10_000
    async with db.session() as s:
        for b in range(blocs):
            ext += 1
            founder = Person(external_id=ext, full_name=f"Trưởng {b}", started=True, created_at=clock.now())
            s.add(founder)
            await s.flush()
            bloc = Bloc(chat_id=-(10**12 + b), title=f"Khối {b}", year=2026, founder_person_id=founder.id,
                        created_at=clock.now())
            s.add(bloc)
            await s.flush()
            voters = []
            for u in range(units):
                unit = Unit(bloc_id=bloc.id, name=f"TTYT {b}-{u}", name_key=f"ttyt {b}-{u}", position=u,
                            created_at=clock.now())
                s.add(unit)
                ext += 1
                person = Person(external_id=ext, full_name=f"Đại diện {ext}", started=True, created_at=clock.now())
                s.add(person)
                await s.flush()
                s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=person.id, joined_at=clock.now()))
                voters.append((User(id=ext, is_bot=False, first_name=person.full_name), unit.id))
            out.append((bloc, founder, voters))
        await s.commit()
    return out


async def voting_run(label: str, url: str, blocs: int, units: int,
                     ceilings: tuple[float, float, float] | None = None) -> float:
    """`ceilings`: ballots/s of the bare echo (4 callbacks a ballot) under this process's collector
    settings and as shipped (Python's defaults), and of the bare ballot tick (answer + edit)."""
    db = Database(url, pool_size=20, max_overflow=40) if not url.startswith("sqlite") else Database(url)
    clock = SystemClock()
    settings = Settings(_env_file=None, bot_token="1:x", database_url=url)
    app = build_dispatcher(settings, db, clock=clock, storage=MemoryStorage())
    flow = Flow(app)
    seeded = await seed(db, clock, blocs, units)
    polls = []
    seats = {}
    for bloc, founder, voters in seeded:
        async with db.session() as s:
            member = await member_of(s, bloc, founder)
            opened = await svc.open_vote(s, clock, member, svc.VoteSpec(kind="flag"))
            poll = opened.poll
            seats[poll.id] = [(x.seat, x.person, x.share) for x in opened.seats]
            await post_card(app, flow.bot, s, clock, poll)
        polls.append((poll, voters))

    cast_ms: list[float] = []
    ballot_ms: list[float] = []
    expected: dict[int, dict[int, int]] = {}

    sem = asyncio.Semaphore(INFLIGHT)

    async def bounded(make):
        async with sem:
            return await make()

    async def one_voter(poll, user: User, choice: int) -> None:
        start = time.perf_counter()
        await bounded(lambda: flow.send(user, f"/start v_{poll.id}"))
        ballot = flow.last(user.id)
        await bounded(lambda: flow.click(user, ballot, act.Tick(poll.id, "0", choice).pack()))
        await bounded(lambda: flow.click(user, ballot, act.Review(poll.id, act.mask([choice])).pack()))
        async with sem:
            t = time.perf_counter()
            await flow.click(user, ballot, act.Cast(poll.id, act.mask([choice])).pack())
            end = time.perf_counter()
        cast_ms.append((end - t) * 1000)
        ballot_ms.append((end - start) * 1000)

    rng = random.Random(1)
    jobs = []
    for poll, voters in polls:
        counts = expected.setdefault(poll.id, {})
        for user, _unit_id in voters:
            choice = rng.randrange(units)
            counts[choice] = counts.get(choice, 0) + 1
            jobs.append(one_voter(poll, user, choice))
    rng.shuffle(jobs)
    edits_before = sum(1 for x in flow.sent if x.method == "editMessageText" and x.chat_id < 0)
    cards = getattr(app, "cards", None)

    async def card_refresher() -> None:
        """What the app's scheduler does during the run: the cards the casts marked, edited."""
        from bot.app import CARD_TICK

        while True:
            await asyncio.sleep(CARD_TICK)
            await cards.flush()

    refresher = asyncio.create_task(card_refresher()) if cards is not None else None
    start = time.perf_counter()
    await asyncio.gather(*jobs)
    elapsed = time.perf_counter() - start
    if refresher is not None:
        refresher.cancel()
        await cards.flush(everything=True)
    card_edits = sum(1 for x in flow.sent if x.method == "editMessageText" and x.chat_id < 0) - edits_before

    exact = 0
    vault = ballot_box.KeyVault()
    for poll, _voters in polls:
        async with db.session() as s:
            await svc.close_vote(s, clock, poll.id)
        for seat, person, share in seats[poll.id][:poll.committee_k]:
            async with db.session() as s:
                await svc.hand_back(s, clock, vault, poll.id, seat, share, person)
    async with db.session() as s:
        for poll, _voters in polls:
            out = await svc.outcome(s, await svc.get_poll(s, poll.id))
            got = {c.candidate: c.votes for c in out.result.counts if c.votes}
            box = await svc.get_box(s, poll.id)
            if got == expected[poll.id] and len(box.ballots) == units and len(box.voters) == units:
                exact += 1
    total = len(cast_ms)
    failed = sum(1 for x in flow.sent if x.text and ("gặp sự cố" in x.text or "went wrong" in x.text))
    print(f"{label}: {blocs} blocs x {units} units = {total} ballots, all at once, 4 updates each, "
          f"<= {INFLIGHT} updates in flight")
    print(f"  {total / elapsed:8.1f} ballots/s   ({elapsed:.2f} s wall)")
    if ceilings:
        print(f"  share of the bare-echo ceiling: {100 * total / elapsed / ceilings[0]:.0f}% "
              f"(of bare aiogram as shipped: {100 * total / elapsed / ceilings[1]:.0f}%; of the bare ballot tick's: "
              f"{100 * total / elapsed / ceilings[2]:.0f}%)")
    print(f"  cast update   p50 {statistics.median(cast_ms):8.2f} ms   p99 {pct(cast_ms, 0.99):8.2f} ms")
    print(f"  whole ballot  p50 {statistics.median(ballot_ms):8.2f} ms   p99 {pct(ballot_ms, 0.99):8.2f} ms")
    print(f"  counted exactly once: {exact}/{len(polls)} votes match the ballots cast "
          f"({sum(sum(v.values()) for v in expected.values())} ballots expected)")
    print(f"  updates that failed: {failed}")
    print(f"  group card edits: {card_edits} for {len(polls)} cards ({total} casts)")
    await db.dispose()
    return statistics.median(cast_ms)


async def opening_run(label: str, url: str, units: int) -> None:
    """One vote of `units` units, all cast: time from the k-th key share pressed by its committee
    member (through the Dispatcher) to the results, chart and minutes sent to the group."""
    db = Database(url)
    clock = SystemClock()
    settings = Settings(_env_file=None, bot_token="1:x", database_url=url)
    flow = Flow(build_dispatcher(settings, db, clock=clock, storage=MemoryStorage()))
    ((bloc, founder, voters),) = await seed(db, clock, 1, units)
    async with db.session() as s:
        member = await member_of(s, bloc, founder)
        opened = await svc.open_vote(s, clock, member, svc.VoteSpec(kind="merit", max_choices=3))
        poll = opened.poll
        await deliver_shares(flow.app, flow.bot, s, opened, member, clock)
    rng = random.Random(2)
    for user, _unit in voters:
        async with db.session() as s:
            person_id = (await s.execute(select(Person.id).where(Person.external_id == user.id))).scalar()
            person = await s.get(Person, person_id)
            await svc.cast(s, clock, poll.id, person, sorted(rng.sample(range(units), 3)))
    async with db.session() as s:
        await svc.close_vote(s, clock, poll.id)
    keys = [x for x in flow.sent if x.text and x.text.startswith("🔑") and f"<code>K{poll.id}-" in x.text]
    datas = []
    for key in keys[:poll.committee_k]:
        markup = flow.messages[(key.chat_id, key.message_id)].reply_markup
        datas.append((key, markup.inline_keyboard[0][0].callback_data))
    for key, data in datas[:-1]:
        await flow.click(User(id=key.chat_id, is_bot=False, first_name="k"), key, data)
    key, data = datas[-1]
    start = time.perf_counter()
    await flow.click(User(id=key.chat_id, is_bot=False, first_name="k"), key, data)
    elapsed = time.perf_counter() - start
    announced = any(x.text and "Kết quả" in x.text for x in flow.sent if x.chat_id == bloc.chat_id)
    print(f"{label}: {units} units, k-th key -> results in the group (chart + minutes): {elapsed * 1000:.0f} ms"
          f" (announced: {announced})")
    await db.dispose()


async def steps_run(label: str, url: str, polls_n: int = 20, units: int = 14) -> dict[str, float]:
    """One voter at a time: the p50 of each step, its SQL statements, and the group card's edits
    (a cast marks the card; the app's scheduler edits it at most once per CARD_DELAY seconds: here,
    after each vote, one flush stands for that)."""
    from sqlalchemy import event

    db = Database(url)
    clock = SystemClock()
    settings = Settings(_env_file=None, bot_token="1:x", database_url=url)
    app = build_dispatcher(settings, db, clock=clock, storage=MemoryStorage())
    flow = Flow(app)
    seeded = await seed(db, clock, polls_n, units)
    polls = []
    for bloc, founder, voters in seeded:
        async with db.session() as s:
            member = await member_of(s, bloc, founder)
            opened = await svc.open_vote(s, clock, member, svc.VoteSpec(kind="flag"))
            await post_card(app, flow.bot, s, clock, opened.poll)
        polls.append((opened.poll, bloc, voters))
    statements = [0]

    def count(*_args) -> None:
        statements[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    steps: dict[str, list[float]] = {"start": [], "tick": [], "confirm": [], "cast": []}
    sql: dict[str, list[int]] = {k: [] for k in steps}
    edits: list[int] = []

    async def timed(name: str, update) -> None:
        statements[0] = 0
        t = time.perf_counter()
        await update
        steps[name].append((time.perf_counter() - t) * 1000)
        sql[name].append(statements[0])

    await prepare_floor_box(db)
    bare = Bare()
    floors = {"tick": Bare("ballot"), "cast": Bare("cast", db)}
    for poll, bloc, voters in polls:
        before = sum(1 for x in flow.sent if x.method == "editMessageText" and x.chat_id == bloc.chat_id)
        for i, (user, _unit) in enumerate(voters):
            await timed("start", flow.send(user, f"/start v_{poll.id}"))
            ballot = flow.last(user.id)
            await timed("tick", flow.click(user, ballot, act.Tick(poll.id, "0", i).pack()))
            await timed("confirm", flow.click(user, ballot, act.Review(poll.id, act.mask([i])).pack()))
            await timed("cast", flow.click(user, ballot, act.Cast(poll.id, act.mask([i])).pack()))
            for one in (bare, *floors.values()):  # interleaved: each ballot beside its bare counterparts
                await one.one()
        cards = getattr(app, "cards", None)
        if cards is not None:
            await cards.flush(everything=True)
        edits.append(sum(1 for x in flow.sent if x.method == "editMessageText" and x.chat_id == bloc.chat_id)
                     - before)
        flow.sent.clear()
    echo, floor_tick, floor_cast = bare.p50(), floors["tick"].p50(), floors["cast"].p50()
    alone = Bare()  # the echo on its own, in a tight loop (how stop 20 and before measured it): warm caches
    for _ in steps["cast"]:
        await alone.one()
    print(f"{label}: ballot steps one voter at a time ({len(steps['cast'])} ballots), bare echo p50 {echo:.2f} ms "
          f"interleaved with them ({alone.p50():.2f} ms alone, in a loop of its own):")
    out = {}
    for name, values in steps.items():
        p50 = statistics.median(values)
        out[name] = p50
        print(f"  {name:8s} p50 {p50:6.2f} ms  p99 {pct(values, 0.99):6.2f} ms  = {p50 / echo:5.1f}x bare echo p50 "
              f"({p50 / alone.p50():4.1f}x alone)  SQL statements {statistics.median(sql[name]):.0f}")
    print(f"  group card edits per vote of {units} casts: {statistics.median(edits):.0f}")
    print(f"  floors, interleaved with the ballots: bare aiogram ballot tick p50 {floor_tick:.2f} ms = "
          f"{floor_tick / echo:.1f}x; "
          f"bare cast (aiogram + one write transaction, read and rewrite one row) p50 {floor_cast:.2f} ms = "
          f"{floor_cast / echo:.1f}x bare echo p50")
    print(f"  tick / bare ballot tick: {out['tick'] / floor_tick:.1f}x; "
          f"cast / bare cast: {out['cast'] / floor_cast:.1f}x")
    event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    await db.dispose()
    return out


BALLOT_TEXT = ("🗳 <b>Bầu đơn vị đề nghị tặng Cờ thi đua</b> — Khối thi đua các TTYT\n"
               "Bạn bỏ phiếu thay mặt <b>TTYT huyện số 3</b>. Đánh dấu tối đa 1, rồi bấm “Tiếp ▶”.\n"
               "Hạn: 17:00 ngày 05/12/2026\nĐã chọn: 1/1")


def _ballot_keyboard(tick: int) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=f"{'☑' if i == tick else '☐'} TTYT huyện số {i + 1}",
                                  callback_data=f"vt:12:{1 << tick:x}:{i}")] for i in range(14)]
    rows.append([InlineKeyboardButton(text="Tiếp ▶", callback_data=f"vc:12:{1 << tick:x}")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


FLOOR_BOX = "bench_floor_box"  # the bare cast's one-row box (a scratch table of the steps' database)
RECEIPT_TEXT = ("✅ Đã bỏ phiếu thay mặt <b>TTYT huyện số 3</b>.\nMã biên nhận: <code>ABCDE-FGHIJ</code>\n"
                "Đã bỏ: 4/14 đơn vị.")


def echo_dispatcher(shape: str = "answer",
                    db: Database | None = None) -> tuple[Dispatcher, Flow, Callable[..., Update]]:
    """A bare aiogram Dispatcher, the recorder's bot to feed it with (Flow: only its recorder and bot
    are used), and the i-th callback update. `shape` "answer": its one handler answers the callback
    (the bare echo). "ballot": it does what a ballot tick does with Telegram and nothing else: the
    callback arrives on a 15-button ballot, and the handler answers it and edits the message into a
    new 15-button ballot (no database, no dialog): the floor aiogram itself sets for a ballot step.
    "cast" (needs `db`): the least a cast can do with the stack the design card binds (aiogram,
    SQLAlchemy's async session): in one write transaction (storage.db.write: BEGIN IMMEDIATE on
    SQLite) read one row and rewrite it guarded by its version, commit, then answer the callback and
    edit the ballot into a short receipt. No dialog, no rules, no sealing, no cache."""
    dp = Dispatcher(storage=MemoryStorage())
    router = Router()

    if db is not None:
        from sqlalchemy import text

        from storage.db import write

        read = text(f"SELECT ballots, version FROM {FLOOR_BOX} WHERE id = 1")
        put = text(f"UPDATE {FLOOR_BOX} SET ballots = :ballots, version = :new WHERE id = 1 AND version = :was")

        @router.callback_query(F.data.startswith("vx:"))
        async def cast(callback: CallbackQuery) -> None:
            async with db.session() as session:
                async with write(session):
                    conn = await session.connection()
                    ballots, version = (await conn.execute(read)).one()
                    await conn.execute(put, {"ballots": ballots, "new": version + 1, "was": version})
            await callback.answer()
            assert isinstance(callback.message, Message)
            await callback.message.edit_text(RECEIPT_TEXT)

    @router.callback_query(F.data.startswith("vk:"))
    async def echo(callback: CallbackQuery) -> None:
        await callback.answer("ok")

    @router.callback_query(F.data.startswith("vt:"))
    async def tick(callback: CallbackQuery) -> None:
        await callback.answer()
        assert isinstance(callback.message, Message) and callback.data is not None
        index = int(callback.data.rsplit(":", 1)[1])
        await callback.message.edit_text(BALLOT_TEXT, reply_markup=_ballot_keyboard(index))

    dp.include_router(router)
    holder = type("A", (), {})()
    holder.dp, holder.clock = dp, SystemClock()
    ballot = _ballot_keyboard(0)

    def update(i: int, user_id: int = 50_000) -> Update:
        user = User(id=user_id, is_bot=False, first_name="x")
        chat = Chat(id=user.id, type="private")
        if shape in ("ballot", "cast"):
            message = Message(message_id=i + 1, date=holder.clock.now(), chat=chat, text=BALLOT_TEXT,
                              reply_markup=ballot)
            data = f"vt:12:1:{i % 14}" if shape == "ballot" else "vx:12:1"
        else:
            message = Message(message_id=i + 1, date=holder.clock.now(), chat=chat, text="ballot")
            data = "vk:1"
        return Update(update_id=i + 1, callback_query=CallbackQuery(id=str(i), from_user=user, chat_instance="c",
                                                                    message=message, data=data))

    return dp, Flow(holder), update


async def prepare_floor_box(db: Database) -> None:
    """The bare cast's one-row box, in a scratch table of `db`."""
    from sqlalchemy import text

    async with db.session() as session:
        await session.execute(text(f"CREATE TABLE IF NOT EXISTS {FLOOR_BOX} "
                                   "(id INTEGER PRIMARY KEY, ballots TEXT NOT NULL, version INTEGER NOT NULL)"))
        await session.execute(text(f"DELETE FROM {FLOOR_BOX}"))
        await session.execute(text(f"INSERT INTO {FLOOR_BOX} VALUES (1, :ballots, 0)"),
                              {"ballots": "[" + ",".join(['"' + "x" * 120 + '"'] * 14) + "]"})
        await session.commit()


class Bare:
    """A bare aiogram Dispatcher of echo_dispatcher's `shape`, fed one update at a time (`one`), so
    that it can be interleaved with the steps it is compared with: this machine's speed drifts."""

    def __init__(self, shape: str = "answer", db: Database | None = None) -> None:
        self.dp, self.flow, self.update = echo_dispatcher(shape, db)
        self.ms: list[float] = []

    async def one(self) -> None:
        item = self.update(len(self.ms))
        t = time.perf_counter()
        await self.dp.feed_update(self.flow.bot, item)
        self.ms.append((time.perf_counter() - t) * 1000)

    def p50(self) -> float:
        return statistics.median(self.ms)


async def echo_run(n: int, shape: str = "answer") -> tuple[float, float]:
    """A bare aiogram Dispatcher answering callbacks (`shape`: see echo_dispatcher), fed the same way,
    concurrently."""
    dp, flow, update = echo_dispatcher(shape)
    latencies: list[float] = []
    sem = asyncio.Semaphore(INFLIGHT)

    async def one(i: int) -> None:
        item = update(i, 50_000 + i)
        async with sem:
            t = time.perf_counter()
            await dp.feed_update(flow.bot, item)
            latencies.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*[one(i) for i in range(n)])
    elapsed = time.perf_counter() - start
    p50 = statistics.median(latencies)
    label = "bare aiogram callback echo" if shape == "answer" else "bare aiogram ballot tick "
    print(f"{label}: {n} callbacks at once: {n / elapsed:8.1f} /s   "
          f"p50 {p50:6.2f} ms   p99 {pct(latencies, 0.99):6.2f} ms   (ceiling {n / elapsed / 4:.1f} ballots/s)")
    return p50, n / elapsed / 4


async def pg_url() -> str | None:
    base = os.environ.get("TEST_DATABASE_URL") or "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    try:
        from tests.support import databases

        await asyncio.wait_for(databases._admin(base), 3)
    except Exception as err:
        print(f"PostgreSQL not reachable ({type(err).__name__}); skipped")
        return None
    return base


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    blocs = int(args[0]) if args else 100
    units = int(args[1]) if len(args) > 1 else 14
    if "--gc-defaults" not in sys.argv:
        from bot.runner import settle_heap

        settle_heap()
    folder = Path(tempfile.mkdtemp())
    steps = f"sqlite+aiosqlite:///{folder}/steps.sqlite3"
    asyncio.run(upgrade(steps))
    asyncio.run(steps_run("SQLite", steps))
    if "--steps-only" in sys.argv:
        return
    url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    asyncio.run(upgrade(url))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gcmode import python_defaults

    print("bare aiogram as shipped (Python's garbage-collector defaults):")
    with python_defaults():
        shipped, shipped_ceiling = asyncio.run(echo_run(blocs * units))
        asyncio.run(echo_run(blocs * units, "ballot"))  # the floor as shipped too: like is compared with like
    print("bare aiogram under this process's collector settings:")
    echo, ceiling = asyncio.run(echo_run(blocs * units))
    _tick, floor = asyncio.run(echo_run(blocs * units, "ballot"))  # answer + edit into a 15-button ballot
    ceilings = (ceiling, shipped_ceiling, floor)
    sqlite_p50 = asyncio.run(voting_run("SQLite", url, blocs, units, ceilings))
    print(f"  ratio cast p50 / bare echo p50: {sqlite_p50 / echo:.1f}x (as shipped: {sqlite_p50 / shipped:.1f}x)")
    for n in (14, 200):
        one = f"sqlite+aiosqlite:///{folder}/open{n}.sqlite3"
        asyncio.run(upgrade(one))
        asyncio.run(opening_run("SQLite", one, n))
    base = asyncio.run(pg_url())
    if base:
        from tests.support import databases

        pg = databases.create_pg_database(base)  # a throwaway database, migrated
        try:
            pg_p50 = asyncio.run(voting_run("PostgreSQL", pg, blocs, units, ceilings))
            print(f"  ratio cast p50 / bare echo p50: {pg_p50 / echo:.1f}x (as shipped: {pg_p50 / shipped:.1f}x)")
        finally:
            databases.drop_pg_database(base, pg)


if __name__ == "__main__":
    main()
