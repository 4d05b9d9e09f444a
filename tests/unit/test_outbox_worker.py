"""The outbox worker against the in-process fake Bot API (real aiogram HTTP client): sending,
429 re-queue, 403 failure shown in /status, network retry, restart after a lease, two workers."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlmodel import select

from bot.channels.telegram import TelegramSender
from bot.fakeapi import FakeTelegram
from bot.outbox import LEASE, OutboxWorker
from bot.ratelimit import RateLimiter
from bot.services import reminders
from storage.db import Database
from storage.models import Bloc, OutboxMessage, Person

TOKEN = "123456:OUTBOX-test"


def senders(bot: Bot) -> dict:
    """The outbox's senders as the composition root gives them: Telegram only."""
    return {"telegram": TelegramSender(bot)}


@contextlib.asynccontextmanager
async def fake_bot():
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    try:
        yield tg, bot
    finally:
        await bot.session.close()
        await tg.stop()


def fast_limiter() -> RateLimiter:
    return RateLimiter(global_per_sec=2000, group_per_min=10_000, chat_per_sec=1000)


async def make_bloc(db: Database, clock, tg: FakeTelegram, n_people: int, started: bool = True
                    ) -> tuple[Bloc, list[Person], dict]:
    head = tg.add_user("Lan")
    group = await tg.create_group("Khối", head)
    async with db.session() as s:
        bloc = Bloc(chat_id=group["id"], title="Khối A", year=2026, created_at=clock.now())
        s.add(bloc)
        people = []
        for i in range(n_people):
            user = tg.add_user(f"Người {i}")
            if started:
                tg.started.add(user["id"])
            person = Person(external_id=user["id"], full_name=f"Người {i}", started=started, created_at=clock.now())
            s.add(person)
            people.append(person)
        await s.commit()
    return bloc, people, group


async def queue(db: Database, clock, bloc: Bloc, people: list[Person], with_group: bool = True,
                tag: str = "t") -> int:
    now = clock.now()
    rows = [{"dedup_key": f"{tag}:p{p.id}", "bloc_id": bloc.id, "kind": "private", "chat_id": p.external_id,
             "person_id": p.id, "text": f"Nhắc lịch cho {p.full_name}", "due_at": now, "created_at": now}
            for p in people]
    if with_group:
        rows.append({"dedup_key": f"{tag}:g", "bloc_id": bloc.id, "kind": "group", "chat_id": bloc.chat_id,
                     "text": "Nhắc lịch chung", "due_at": now, "created_at": now})
    async with db.session() as s:
        await reminders.insert_rows(s, rows)
        await s.commit()
    return len(rows)


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all())


def deliveries(tg: FakeTelegram, chat_id: int) -> list[str]:
    return tg.bot_texts(chat_id)


async def test_sends_each_row_once_and_records_message_id(db, clock):
    async with fake_bot() as (tg, bot):
        bloc, people, group = await make_bloc(db, clock, tg, 3)
        await queue(db, clock, bloc, people)
        worker = OutboxWorker(db, senders(bot), clock, fast_limiter())
        assert await worker.drain() == 4
        assert await worker.drain() == 0
        for p in people:
            assert deliveries(tg, p.external_id) == [f"Nhắc lịch cho {p.full_name}"]
        assert deliveries(tg, group["id"]) == ["Nhắc lịch chung"]
        stored = await rows(db)
        assert {r.status for r in stored} == {"sent"}
        assert all(r.message_id is not None and r.sent_at == clock.now() for r in stored)


async def test_429_is_requeued_at_retry_after_never_dropped(db, clock):
    async with fake_bot() as (tg, bot):
        bloc, people, _group = await make_bloc(db, clock, tg, 2)
        await queue(db, clock, bloc, people, with_group=False)
        victim = people[0]
        tg.inject_error("sendMessage", 429, count=1, retry_after=7, chat_id=victim.external_id)
        worker = OutboxWorker(db, senders(bot), clock, fast_limiter())
        await worker.drain()
        by_person = {r.person_id: r for r in await rows(db)}
        row = by_person[victim.id]
        assert row.status == "pending" and row.due_at == clock.now() + timedelta(seconds=7)
        assert "429" in row.last_error and by_person[people[1].id].status == "sent"
        assert deliveries(tg, victim.external_id) == []
        clock.advance(seconds=6)
        await worker.drain()
        assert deliveries(tg, victim.external_id) == []  # not before retry_after
        clock.advance(seconds=1)
        worker.limiter = fast_limiter()  # the real-time penalty of the limiter is not what we test here
        await worker.drain()
        assert deliveries(tg, victim.external_id) == [f"Nhắc lịch cho {victim.full_name}"]
        assert worker.stats.retried_429 == 1


async def test_403_marks_failed_flags_person_and_head_sees_it_in_status(db, clock):
    from bot.conversations.reminders import delivery_status

    async with fake_bot() as (tg, bot):
        bloc, people, _group = await make_bloc(db, clock, tg, 2)
        never_started = people[1]
        tg.started.discard(never_started.external_id)
        await queue(db, clock, bloc, people, with_group=False)
        worker = OutboxWorker(db, senders(bot), clock, fast_limiter())
        await worker.drain()
        by_person = {r.person_id: r for r in await rows(db)}
        assert by_person[never_started.id].status == "failed"
        assert by_person[never_started.id].last_error.startswith("403")
        assert by_person[people[0].id].status == "sent"
        async with db.session() as s:
            assert (await s.get(Person, never_started.id)).blocked is True
            lines = await delivery_status(s, clock, await s.get(Bloc, bloc.id))
        text = "\n".join(lines)
        assert "Người 1" in text and "không gửi được" in text and "Người 0" not in text
        assert await worker.drain() == 0  # not retried


async def test_network_error_retries_with_backoff(db, clock):
    async with fake_bot() as (tg, bot):
        bloc, people, _group = await make_bloc(db, clock, tg, 1)
        await queue(db, clock, bloc, people, with_group=False)
        tg.inject_error("sendMessage", 500, count=2)
        worker = OutboxWorker(db, senders(bot), clock, fast_limiter())
        await worker.drain()
        (row,) = await rows(db)
        assert row.status == "pending" and row.due_at == clock.now() + timedelta(seconds=5)
        clock.advance(seconds=5)
        await worker.drain()
        (row,) = await rows(db)
        assert row.status == "pending" and row.due_at == clock.now() + timedelta(seconds=10)  # backoff doubles
        clock.advance(seconds=10)
        await worker.drain()
        (row,) = await rows(db)
        assert row.status == "sent" and row.attempts == 3
        assert len(deliveries(tg, people[0].external_id)) == 1


async def test_bad_html_falls_back_to_plain_text(db, clock):
    async with fake_bot() as (tg, bot):
        bloc, people, _group = await make_bloc(db, clock, tg, 1)
        now = clock.now()
        async with db.session() as s:
            await reminders.insert_rows(s, [{"dedup_key": "bad", "bloc_id": bloc.id, "kind": "private",
                                             "chat_id": people[0].external_id, "text": "<b>Họp <i>sớm</b>",
                                             "due_at": now, "created_at": now}])
            await s.commit()
        await OutboxWorker(db, senders(bot), clock, fast_limiter()).drain()
        assert deliveries(tg, people[0].external_id) == ["Họp sớm"]


async def test_restart_between_claim_and_send_requeues_after_lease(db, clock):
    """A worker claims rows and dies before sending: after the lease another worker sends each
    of them exactly once; before the lease nobody touches them."""
    async with fake_bot() as (tg, bot):
        bloc, people, group = await make_bloc(db, clock, tg, 12)
        total = await queue(db, clock, bloc, people)
        dead = OutboxWorker(db, senders(bot), clock, fast_limiter(), name="dead")
        claimed = await dead.claim(8)
        assert len(claimed) == 8
        del dead  # the process dies: no send, no confirmation

        fresh = OutboxWorker(db, senders(bot), clock, fast_limiter(), name="fresh")
        await fresh.drain()
        assert fresh.stats.sent == total - 8  # the claimed rows wait for their lease
        clock.advance(seconds=LEASE.total_seconds() + 1)
        await fresh.drain()
        assert fresh.stats.sent == total
        counts = [len(deliveries(tg, p.external_id)) for p in people] + [len(deliveries(tg, group["id"]))]
        assert counts == [1] * total  # 0 lost, 0 duplicated
        assert {r.status for r in await rows(db)} == {"sent"}


async def test_stale_worker_cannot_confirm_a_row_claimed_again(db, clock):
    async with fake_bot() as (tg, bot):
        bloc, people, _group = await make_bloc(db, clock, tg, 1)
        await queue(db, clock, bloc, people, with_group=False)
        slow = OutboxWorker(db, senders(bot), clock, fast_limiter(), name="slow")
        (row,) = await slow.claim(1)
        clock.advance(seconds=LEASE.total_seconds() + 1)
        other = OutboxWorker(db, senders(bot), clock, fast_limiter(), name="other")
        await other.drain()
        assert not await slow._finish(row, status="failed")  # its claim token is stale
        (stored,) = await rows(db)
        assert stored.status == "sent"


@pytest.mark.parametrize("workers", [2])
async def test_two_workers_with_separate_engines_send_every_row_once(db, db_url, clock, workers):
    """Two bot processes against one database (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite:
    BEGIN IMMEDIATE): every row is claimed by exactly one of them."""
    async with fake_bot() as (tg, bot):
        bloc, people, group = await make_bloc(db, clock, tg, 150)
        total = await queue(db, clock, bloc, people)
        engines = [Database(db_url) for _ in range(workers)]
        try:
            pool = [OutboxWorker(engine, senders(bot), clock, fast_limiter(), batch=7, max_inflight=14, name=f"w{i}")
                    for i, engine in enumerate(engines)]
            await asyncio.gather(*(w.drain() for w in pool))
        finally:
            for engine in engines:
                await engine.dispose()
        counts = [len(deliveries(tg, p.external_id)) for p in people] + [len(deliveries(tg, group["id"]))]
        assert sum(counts) == total and set(counts) == {1}
        assert sum(w.stats.sent for w in pool) == total
        assert all(w.stats.sent > 0 for w in pool), [w.stats.sent for w in pool]  # both really worked
        assert {r.status for r in await rows(db)} == {"sent"}


# -- the limiter alone (fake time) -------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_limiter_spaces_one_chat_and_caps_a_group_per_minute():
    t = FakeTime()
    limiter = RateLimiter(global_per_sec=25, group_per_min=20, chat_per_sec=1, time_fn=t)
    waits = [limiter.book(42) for _ in range(3)]
    assert waits[0] == 0 and waits[1] >= 1.0 and waits[2] >= 2.0
    group_waits = [limiter.book(-7) for _ in range(21)]
    assert group_waits[19] < 21 and group_waits[20] >= 60.0
    assert limiter.book(-7, max_wait=3) is None  # would wait a minute: caller re-queues instead


def test_limiter_global_ticks_are_distinct_and_future_bookings_do_not_block():
    t = FakeTime()
    limiter = RateLimiter(global_per_sec=25, group_per_min=20, chat_per_sec=1, time_fn=t)
    waits = sorted(limiter.book(chat) for chat in range(1, 51))
    assert waits[-1] == pytest.approx(49 / 25, abs=0.05)  # 50 chats: 2 s at 25/s
    assert len({round(w, 4) for w in waits}) == 50
    # a group waiting far ahead does not delay a new private chat
    for _ in range(20):
        limiter.book(-9)
    assert limiter.book(12345) < 2.1


class RecordingSender:
    """A channel's sender that only records what it was given (the Zalo instance of the test)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int | str, str]] = []

    async def send(self, chat_id, reply, *, plain: bool = False):
        from bot.channels.base import SentRef

        self.sent.append((chat_id, reply.text))
        return SentRef(chat_id, len(self.sent))


async def test_rows_for_a_channel_without_a_sender_are_left_to_the_instance_that_serves_it(db, clock, caplog):
    """Two instances, Zalo configured on one of them: the other sends its own rows and leaves the
    Zalo rows untouched (not claimed, not put back 5 minutes later), so the Zalo instance sends
    them at once; at start a process says which rows wait for a channel it does not serve."""
    from bot.outbox import OutboxService

    async with fake_bot() as (tg, bot):
        bloc, people, group = await make_bloc(db, clock, tg, 3)
        async with db.session() as s:
            for p in people[1:]:
                (await s.get(Person, p.id)).channel = "zalo"
            await s.commit()
        await queue(db, clock, bloc, people)
        telegram_only = OutboxWorker(db, senders(bot), clock, fast_limiter(), name="tg")
        with caplog.at_level("WARNING", logger="bot.outbox"):
            service = OutboxService(telegram_only)
            await service.start()
            await service.stop()
        assert any("2 messages wait for channel 'zalo'" in r.getMessage() for r in caplog.records)
        assert await telegram_only.drain() == 2  # its own: the Telegram person and the group
        by_person = {r.person_id: r for r in await rows(db)}
        assert by_person[people[0].id].status == "sent" and by_person[None].status == "sent"
        for p in people[1:]:
            row = by_person[p.id]
            assert (row.status, row.attempts, row.last_error, row.claim_token) == ("pending", 0, None, None)
            assert row.due_at <= clock.now() and deliveries(tg, p.external_id) == []
        assert await telegram_only.next_due() is None  # nothing of its own left to wake for
        assert await telegram_only.drain() == 0
        zalo = RecordingSender()
        zalo_instance = OutboxWorker(db, {"zalo": zalo}, clock, fast_limiter(), name="zalo")
        assert await zalo_instance.drain() == 2  # at once, not NO_SENDER_WAIT later
        assert sorted(chat for chat, _text in zalo.sent) == sorted(p.external_id for p in people[1:])
        assert {r.status for r in await rows(db)} == {"sent"}


async def test_a_group_reminder_prepared_by_the_zalo_instance_goes_to_the_telegram_instance_at_once(db, clock):
    """A meeting's planned reminders fall due; the Zalo instance claims them first. It prepares them
    (the fan-out becomes one private reminder per unit still to answer; its Zalo member's goes out
    from here) and hands the group's reminder, which only the Telegram instance can post, back as
    it was due, not 5 minutes later: the Telegram instance posts it in the same minute."""
    from bot.app import build_table
    from bot.services import meetings
    from bot.services.blocs import Member, Role
    from storage.models import Representative, Unit

    build_table()  # registers the meeting's reminder source, as the composition root does
    async with fake_bot() as (tg, bot):
        bloc, people, group = await make_bloc(db, clock, tg, 1)
        async with db.session() as s:
            founder = await s.get(Person, people[0].id)
            zalo_person = Person(external_id=7_000_001, full_name="Mai", channel="zalo", started=True,
                                 created_at=clock.now())
            unit = Unit(bloc_id=bloc.id, name="TTYT Tiên Yên", name_key="ttyt tiên yên", created_at=clock.now())
            s.add_all([zalo_person, unit])
            await s.flush()
            s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=zalo_person.id, joined_at=clock.now()))
            fresh = await s.get(Bloc, bloc.id)
            fresh.founder_person_id = founder.id
            await s.commit()
            member = Member(bloc=fresh, person=founder, unit=None, role=Role.founder)
            draft = meetings.Draft(when=clock.now() + timedelta(days=2), place="Hội trường", title="Sơ kết")
            await meetings.create_meeting(s, clock, member, draft)
        first = min(r.due_at for r in await rows(db) if r.kind == "group")
        clock.advance(seconds=(first - clock.now()).total_seconds())
        zalo = RecordingSender()
        zalo_instance = OutboxWorker(db, {"zalo": zalo}, clock, fast_limiter(), name="zalo")
        await zalo_instance.drain()
        assert [chat for chat, _text in zalo.sent] == [7_000_001]  # the unit's private reminder
        group_rows = [r for r in await rows(db) if r.kind == "group" and r.due_at <= clock.now()]
        assert len(group_rows) == 1 and group_rows[0].status == "pending" and group_rows[0].text
        assert await zalo_instance.drain() == 0  # it does not claim that row again
        telegram_instance = OutboxWorker(db, senders(bot), clock, fast_limiter(), name="tg")
        assert await telegram_instance.drain() == 1  # same minute: the group's reminder
        assert any("Sơ kết" in text for text in deliveries(tg, group["id"]))
