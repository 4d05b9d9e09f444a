"""Foundation numbers (printed, never asserted):

1. process start -> first getUpdates, and idle RSS, for `python -m bot run` against the fake Bot API
   (and, with only ZALO_BOT_TOKEN, against the fake Zalo API), beside a bare aiogram process;
2. /help and /status through the real Dispatcher (real SQLite, Telegram HTTP replaced by a recorder),
   p50/p99 over N updates, beside a bare aiogram echo handler measured in the same run.

The process's garbage collector is set as `thidua run` sets it (bot.runner.settle_heap), for the
echo and for us alike; --gc-defaults leaves Python's defaults (the figures before that change). The
bare echo is also measured as shipped (Python's defaults; bench/gcmode.py), the p99 ratio against it
in brackets.

Run: .venv/bin/python bench/bench_core.py [N] [--no-startup] [--gc-defaults]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gcmode import python_defaults  # noqa: E402


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
    await measure(flow, head, flow.group, "/status", 200)
    await measure(echo_flow, head, flow.group, "/help", 200)
    shipped = "bare echo, gc defaults"
    results: dict[str, list[float]] = {"/help (group)": [], "/status (group)": [], "bare aiogram echo": [],
                                       shipped: []}
    # Interleaved in small rounds, so that a busy neighbour on the machine weighs on all alike. The
    # bare echo runs twice: under this process's collector settings, and as shipped (Python's).
    for _ in range(max(1, n // 50)):
        results["/help (group)"] += await measure(flow, head, flow.group, "/help", 50)
        results["/status (group)"] += await measure(flow, head, flow.group, "/status", 50)
        results["bare aiogram echo"] += await measure(echo_flow, head, flow.group, "/help", 50)
        with python_defaults():
            results[shipped] += await measure(echo_flow, head, flow.group, "/help", 50)
    base = statistics.median(results["bare aiogram echo"])
    base99 = pct(results["bare aiogram echo"], 0.99)
    ship99 = pct(results[shipped], 0.99)
    print(f"dispatcher, {len(results['/help (group)'])} updates each, real {label}, HTTP recorder:")
    for name, values in results.items():
        p50, p99 = statistics.median(values), pct(values, 0.99)
        print(f"  {name:22s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  p50/bare p50 {p50 / base:5.1f}x  "
              f"p99/bare p99 {p99 / base99:5.1f}x  (p99/as shipped {p99 / ship99:4.1f}x)")
    await db.dispose()


def _rss_mb(pid: int) -> float:
    return next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("VmRSS")) / 1024


async def _first_call(proc: subprocess.Popen, arrivals: list[str], method: str, start: float) -> float | None:
    while time.perf_counter() - start < 60:
        if method in [a.lower() for a in arrivals]:
            return time.perf_counter() - start
        if proc.poll() is not None:
            return None
        await asyncio.sleep(0.01)
    return None


async def startup_bench() -> None:
    """Start -> first getUpdates and idle RSS of `python -m bot run` (Telegram; then Zalo only),
    beside a bare aiogram process measured the same way in the same run."""
    from bot.fakeapi import FakeTelegram
    from bot.fakeapi.zalo import FakeZalo

    folder = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{folder}/start.sqlite3"
    await upgrade(url)  # migrated once: a restart (the usual start) finds the schema current
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BOT_TOKEN", "ZALO_BOT_TOKEN")}
    base.update(PYTHONPATH=str(ROOT), DATABASE_URL=url, LOG_LEVEL="WARNING", WEBHOOK_HOST="127.0.0.1",
                WEBHOOK_PORT=str(_free_port()))
    # Baseline: a process that imports aiogram (the types and Bot/Dispatcher), says so, then idles.
    probe = ("import sys, time; t = time.perf_counter(); import aiogram.types; from aiogram import Bot, Dispatcher; "
             "print(time.perf_counter() - t, flush=True); time.sleep(30)")
    start = time.perf_counter()
    bare = subprocess.Popen([sys.executable, "-c", probe], stdout=subprocess.PIPE, text=True)
    assert bare.stdout is not None
    importing = float(bare.stdout.readline())
    bare_wall = time.perf_counter() - start
    await asyncio.sleep(3)
    bare_rss = _rss_mb(bare.pid)
    bare.kill()
    bare.wait()
    async with FakeTelegram(token="123:BENCH") as tg:
        env = dict(base, BOT_TOKEN="123:BENCH", TELEGRAM_API_BASE=tg.base_url)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env)
        try:
            first = await _first_call(proc, tg.arrivals, "getupdates", start)
            await asyncio.sleep(3)
            rss = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    token = "8080808080:bench-zalo"
    async with FakeZalo(token=token, poll_timeout=0.5) as zalo:
        env = dict(base, ZALO_BOT_TOKEN=token, ZALO_API_BASE=zalo.base_url)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env)
        try:
            zalo_first = await _first_call(proc, zalo.arrivals, "getupdates", start)
            await asyncio.sleep(3)
            zalo_rss = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"baseline, bare aiogram process: {bare_wall:.2f} s to imported ({importing:.2f} s importing), "
          f"idle RSS {bare_rss:.1f} MB")
    if first:
        print(f"startup (Telegram): process start -> first getUpdates {first:.2f} s; "
              f"our own share (minus the bare aiogram process) {first - bare_wall:+.2f} s (target <= 1 s)")
    else:
        print("startup (Telegram): no getUpdates within 60 s")
    print(f"idle RSS after 3 s (Telegram): {rss:.1f} MB = bare aiogram {rss - bare_rss:+.1f} MB (target <= +40 MB)")
    print(f"startup (Zalo only, no aiogram): process start -> first Zalo getUpdates "
          f"{zalo_first if zalo_first is None else round(zalo_first, 2)} s; idle RSS {zalo_rss:.1f} MB")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 10000
    if "--no-startup" not in sys.argv:
        asyncio.run(startup_bench())
    if "--gc-defaults" not in sys.argv:
        from bot.runner import settle_heap

        settle_heap()
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
