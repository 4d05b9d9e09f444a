"""Foundation numbers (printed, never asserted):

1. process start -> first getUpdates, and idle RSS, for `python -m bot run` against the fake Bot API;
2. /help and /status through the real Dispatcher (real SQLite, Telegram HTTP replaced by a recorder),
   p50/p99 over N updates, beside a bare aiogram echo handler measured in the same run.

Run: .venv/bin/python bench/bench_core.py [N]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Dispatcher, Router  # noqa: E402
from aiogram.filters import Command  # noqa: E402
from aiogram.fsm.storage.memory import MemoryStorage  # noqa: E402
from aiogram.types import Message  # noqa: E402

from bot.app import build_dispatcher  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.support.flow import Flow  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def measure(flow: Flow, user, chat, text: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await flow.send(user, text, chat=chat)
        out.append((time.perf_counter() - start) * 1000)
        flow.sent.clear()
    return out


async def dispatcher_bench(n: int, url: str | None = None) -> None:
    label = "PostgreSQL" if url else "SQLite"
    if url is None:
        folder = Path(tempfile.mkdtemp())
        url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await upgrade(url)
    db = Database(url)
    settings = Settings(_env_file=None, bot_token="1:x", database_url=url)
    app = build_dispatcher(settings, db, clock=SystemClock(), storage=MemoryStorage())
    flow = Flow(app)
    head = flow.user("Lan", admin=True)
    await flow.send(head, "/setup Khối thi đua bench", chat=flow.group)
    await flow.send(head, "/addunit\n" + "\n".join(f"TTYT số {i}" for i in range(1, 15)), chat=flow.group)

    echo_app = build_dispatcher(settings, db, clock=SystemClock(), storage=MemoryStorage())
    bare = Dispatcher(storage=MemoryStorage())
    router = Router()

    @router.message(Command("help"))
    async def echo(message: Message) -> None:
        await message.answer("help")

    bare.include_router(router)
    echo_app.dp = bare
    echo_flow = Flow(echo_app)
    echo_flow.app.dp = bare

    await measure(flow, head, flow.group, "/help", 200)  # warm-up
    await measure(echo_flow, head, flow.group, "/help", 200)
    results = {
        "/help (group)": await measure(flow, head, flow.group, "/help", n),
        "/status (group)": await measure(flow, head, flow.group, "/status", n),
        "bare aiogram echo": await measure(echo_flow, head, flow.group, "/help", n),
    }
    base = statistics.median(results["bare aiogram echo"])
    print(f"dispatcher, {n} updates each, real {label}, HTTP recorder:")
    for name, values in results.items():
        print(f"  {name:20s} p50 {statistics.median(values):6.2f} ms  p99 {pct(values, 0.99):6.2f} ms  "
              f"ratio to bare p50 {statistics.median(values) / base:5.1f}x")
    await db.dispose()


async def startup_bench() -> None:
    try:
        from bot.fakeapi import FakeTelegram
    except ImportError:
        print("startup: bot.fakeapi not available, skipped")
        return
    folder = Path(tempfile.mkdtemp())
    async with FakeTelegram(token="123:BENCH") as tg:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        env.update(BOT_TOKEN="123:BENCH", TELEGRAM_API_BASE=tg.base_url, PYTHONPATH=str(ROOT),
                   DATABASE_URL=f"sqlite+aiosqlite:///{folder}/start.sqlite3", LOG_LEVEL="WARNING")
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=folder, env=env)
        try:
            first = None
            while time.perf_counter() - start < 30:
                if "getupdates" in tg.arrivals:
                    first = time.perf_counter() - start
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(3)
            rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                          if line.startswith("VmRSS"))
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"startup: process start -> first getUpdates {first:.2f} s (target < 2 s)" if first else
          "startup: no getUpdates within 30 s")
    print(f"idle RSS after 3 s: {rss_kb / 1024:.1f} MB (target < 120 MB)")
    # Baseline in the same run: what importing aiogram alone costs on this machine.
    probe = ("import resource, time; t = time.perf_counter(); import aiogram.types; "
             "from aiogram import Bot, Dispatcher; "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    print(f"baseline, bare `import aiogram` process: {time.perf_counter() - start:.2f} s wall "
          f"({float(out[0]):.2f} s importing), max RSS {int(out[1]) / 1024:.1f} MB")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    asyncio.run(startup_bench())
    asyncio.run(dispatcher_bench(n))
    pg = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    try:
        from tests.support.databases import create_pg_database, drop_pg_database

        pg_db = create_pg_database(pg)
    except Exception as err:  # noqa: BLE001
        print(f"PostgreSQL at {pg} not reachable ({type(err).__name__}): skipped")
    else:
        try:
            asyncio.run(dispatcher_bench(n, pg_db))
        finally:
            drop_pg_database(pg, pg_db)
