"""Outbox numbers (printed, never asserted).

1. fan-out: P private reminders + G group reminders due at the same minute, sent by one worker
   through the rate limiter to the fake Bot API that ENFORCES 30 msg/s global, 20/min per group,
   1/s per chat (429 with retry_after beyond): achieved rate vs the limit, 429s after the first
   second, lost, duplicated.
2. latency: rows due one after another at a low rate (no rate limiting in play), worker woken by
   APScheduler at each next due time: due time -> send call, p50/p99.
3. crash: a worker subprocess is SIGKILLed at a random moment of a fan-out; after the lease a new
   worker finishes. Counts deliveries per row: lost and duplicated (the restart path's risk).

Run: .venv/bin/python bench/bench_outbox.py [--private 1500] [--groups 100] [--per-group 1] [--rate 28]
     [--latency-rows 100] [--crash-trials 10] [--crash-rows 150] [--crash-rate 25] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.channels.telegram import TelegramSender  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.fakeapi import FakeTelegram  # noqa: E402
from bot.outbox import LEASE, OutboxService, OutboxWorker  # noqa: E402
from bot.ratelimit import RateLimiter  # noqa: E402
from bot.services import reminders  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402

TOKEN = "123456:BENCH-outbox"


def senders(bot: Bot) -> dict:
    """The outbox's senders as the composition root gives them: Telegram only."""
    return {"telegram": TelegramSender(bot)}


class ShiftedClock:
    """System time plus an offset: jump past a lease without waiting two minutes."""

    def __init__(self, offset: timedelta = timedelta()) -> None:
        self.offset = offset

    def now(self):
        return SystemClock().now() + self.offset


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def fresh_db(url: str | None) -> tuple[Database, str]:
    if url is None:
        folder = Path(tempfile.mkdtemp())
        url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await upgrade(url)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM outbox")
    return db, url


def make_bot(tg: FakeTelegram) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)),
               default=DefaultBotProperties(parse_mode="HTML"))


async def queue_rows(db: Database, chats: list[int], due, tag: str, spacing: float = 0.0) -> None:
    rows = [{"dedup_key": f"{tag}:{i}:{chat}", "kind": "group" if chat < 0 else "private", "chat_id": chat,
             "text": f"⏰ Nhắc lịch {i}", "due_at": due + timedelta(seconds=spacing * i), "created_at": due}
            for i, chat in enumerate(chats)]
    async with db.session() as s:
        for start in range(0, len(rows), 500):
            await reminders.insert_rows(s, rows[start:start + 500])
        await s.commit()


def audience(tg: FakeTelegram, private: int, groups: int) -> list[int]:
    head = tg.add_user("Lan")
    chats = []
    for i in range(private):
        user = tg.add_user(f"U{i}")
        tg.started.add(user["id"])
        chats.append(user["id"])
    for i in range(groups):
        tg.chats[-(9_000_000 + i)] = {"id": -(9_000_000 + i), "type": "group", "title": f"G{i}"}
        tg.bot_in.add(-(9_000_000 + i))
        chats.append(-(9_000_000 + i))
    del head
    return chats


def delivered(tg: FakeTelegram, chats: list[int]) -> dict[int, int]:
    return {chat: len(tg.messages(chat, from_bot=True)) for chat in set(chats)}


async def statuses(db: Database) -> dict[str, int]:
    async with db.session() as s:
        rows = (await s.execute(select(OutboxMessage.status))).scalars().all()
    out: dict[str, int] = {}
    for status in rows:
        out[status] = out.get(status, 0) + 1
    return out


# -- 1. fan-out under enforced limits ---------------------------------------------------------------
async def fanout(args) -> None:
    db, _url = await fresh_db(args.db)
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    tg.enforce_limits(global_per_sec=30, per_group_per_min=20, per_chat_per_sec=1)
    chats = audience(tg, args.private, args.groups)
    chats = chats + [c for c in chats if c < 0] * (args.per_group - 1)
    bot = make_bot(tg)
    clock = SystemClock()
    await queue_rows(db, chats, clock.now(), "fan")
    worker = OutboxWorker(db, senders(bot), clock, RateLimiter(global_per_sec=args.rate), batch=40, max_inflight=100)
    start = time.monotonic()
    while True:
        await worker.drain()
        counts = await statuses(db)
        if counts.get("pending", 0) == 0 and counts.get("claimed", 0) == 0:
            break
        await asyncio.sleep(0.2)  # rows re-queued for a group's minute window
    elapsed = time.monotonic() - start
    got = delivered(tg, chats)
    expected: dict[int, int] = {}
    for chat in chats:
        expected[chat] = expected.get(chat, 0) + 1
    lost = sum(max(0, expected[c] - got.get(c, 0)) for c in expected)
    dup = sum(max(0, got.get(c, 0) - expected[c]) for c in expected)
    late_429 = sum(1 for t in tg.stats["429_at"] if t > start + 1.0)
    rate = len(chats) / elapsed
    print(f"fan-out: {args.private} private + {args.groups} groups x {args.per_group} = {len(chats)} messages "
          f"due at once; limiter {args.rate}/s; fake enforces 30/s, 20/min/group, 1/s/chat")
    print(f"  time {elapsed:.1f} s, achieved {rate:.1f} msg/s = {rate / 30:.2f} of Telegram's 30/s "
          f"({rate / args.rate:.2f} of the configured {args.rate}/s)")
    print(f"  429s: {tg.stats['429']} total, {late_429} after the first second; lost {lost}; duplicated {dup}; "
          f"rows {await statuses(db)}; re-queued for a group window {worker.stats.requeued_for_limit}")
    await bot.session.close()
    await tg.stop()
    await db.dispose()


# -- 2. latency when not rate limited ---------------------------------------------------------------
async def latency(args) -> None:
    db, _url = await fresh_db(args.db)
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    chats = audience(tg, args.latency_rows, 0)
    bot = make_bot(tg)
    clock = SystemClock()
    worker = OutboxWorker(db, senders(bot), clock)
    service = OutboxService(worker, interval=15)
    await service.start()
    spacing = 0.15
    await queue_rows(db, chats, clock.now() + timedelta(seconds=1), "lat", spacing=spacing)
    service.kick()
    deadline = time.monotonic() + 1 + spacing * len(chats) + 20
    while time.monotonic() < deadline and worker.stats.sent < len(chats):
        await asyncio.sleep(0.1)
    await service.stop()
    lat = worker.stats.latencies
    print(f"latency: {len(chats)} rows due every {spacing * 1000:.0f} ms, woken by APScheduler at each due time: "
          f"sent {worker.stats.sent}; due -> send call p50 {pct(lat, 0.5) * 1000:.0f} ms, "
          f"p99 {pct(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
    await bot.session.close()
    await tg.stop()
    await db.dispose()


# -- 3. crash between claim/send/confirm -------------------------------------------------------------
async def child(url: str, base: str, rate: float) -> None:
    """The worker process that gets killed."""
    db = Database(url)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)),
              default=DefaultBotProperties(parse_mode="HTML"))
    worker = OutboxWorker(db, senders(bot), SystemClock(), RateLimiter(global_per_sec=rate))
    print("ready", flush=True)
    await worker.drain()
    await asyncio.sleep(3600)


async def crash(args) -> None:
    total_dup = total_lost = total_rows = 0
    details = []
    for trial in range(args.crash_trials):
        db, url = await fresh_db(args.db)
        tg = FakeTelegram(token=TOKEN)
        await tg.start()
        chats = audience(tg, args.crash_rows, 0)
        await queue_rows(db, chats, SystemClock().now(), f"crash{trial}")
        proc = subprocess.Popen([sys.executable, __file__, "--child", url, tg.base_url, str(args.crash_rate)],
                                stdout=subprocess.PIPE, cwd=str(ROOT))
        while proc.stdout.readline().strip() != b"ready":
            pass
        await asyncio.sleep(random.uniform(0.2, args.crash_rows / args.crash_rate))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        sent_before = sum(delivered(tg, chats).values())
        before = await statuses(db)
        bot = make_bot(tg)
        clock = ShiftedClock(LEASE + timedelta(seconds=1))
        worker = OutboxWorker(db, senders(bot), clock, RateLimiter(global_per_sec=200, chat_per_sec=100))
        await worker.drain()
        got = delivered(tg, chats)
        dup = sum(max(0, n - 1) for n in got.values())
        lost = sum(1 for c in chats if got.get(c, 0) == 0)
        total_dup += dup
        total_lost += lost
        total_rows += len(chats)
        details.append(f"killed after {sent_before} sent, {before.get('claimed', 0)} claimed unconfirmed -> "
                       f"dup {dup}, lost {lost}")
        await bot.session.close()
        await tg.stop()
        await db.dispose()
    print(f"crash: {args.crash_trials} SIGKILLs of a worker mid fan-out ({args.crash_rows} rows each at "
          f"{args.crash_rate}/s), restart "
          f"after the lease: lost {total_lost}, duplicated {total_dup} of {total_rows} rows "
          f"({total_dup / max(1, args.crash_trials):.2f} per crash)")
    for line in details:
        print("  " + line)


async def main(args) -> None:
    if args.private or args.groups:
        await fanout(args)
    if args.latency_rows:
        await latency(args)
    if args.crash_trials:
        await crash(args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], sys.argv[3], float(sys.argv[4])))
        raise SystemExit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--private", type=int, default=1500)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-group", type=int, default=1, help="messages per group (20+ exercises 20/min)")
    parser.add_argument("--rate", type=float, default=28.0, help="the limiter's global messages per second")
    parser.add_argument("--latency-rows", type=int, default=100)
    parser.add_argument("--crash-trials", type=int, default=10)
    parser.add_argument("--crash-rows", type=int, default=150)
    parser.add_argument("--crash-rate", type=float, default=25.0, help="the killed worker's messages per second")
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    asyncio.run(main(parser.parse_args()))
