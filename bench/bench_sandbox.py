"""Sandbox numbers (printed, never asserted):

1. `thidua sandbox --demo` on a fresh data dir, as a user starts it: time from the command to the page
   answering, and to the bot being up with the demo bloc made (14 units, head, three representatives);
2. a message typed in the page -> the bot's answer pushed to the page (the page's own API and its
   server-sent event stream, as the browser uses them), p50/p95/max over N messages, in a private
   chat (/help) and in the group (/status);
3. the browser test's own timings (typed in Chromium -> answer on screen), if it has run.

Run: .venv/bin/python bench/bench_sandbox.py [N]
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1)))]


async def typed_round_trips(base: str, persona: str, chat: int, text: str, n: int) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "api/events", timeout=aiohttp.ClientTimeout(total=None)) as stream:
            await stream.content.readline()  # the initial status event
            for _ in range(n):
                t0 = time.perf_counter()
                async with http.post(base + "api/send", json={"persona": persona, "chat": chat, "text": text}) as r:
                    assert r.status == 200, await r.text()
                while True:
                    line = (await stream.content.readline()).decode()
                    if not line.startswith("data: "):
                        continue
                    event = json.loads(line[6:])
                    message = event.get("message") or {}
                    if event["type"] == "message" and event["chat_id"] == chat and message["from"]["is_bot"]:
                        samples.append((time.perf_counter() - t0) * 1000)
                        break
                await asyncio.sleep(0.25)  # a person types; and stay under Telegram's per-chat rate
    return samples


async def main(n: int) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/"
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL")}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sandbox", "--demo", "--port", str(port), "--data-dir", f"{tmp}/sandbox",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        page = ready = None
        async with aiohttp.ClientSession() as http:
            while ready is None and time.monotonic() - t0 < 60:
                try:
                    async with http.get(base + "api/state" if page else base) as r:
                        if page is None and r.status == 200:
                            page = time.monotonic() - t0
                        elif page is not None and (await r.json())["status"] == "ready":
                            ready = time.monotonic() - t0
                            state = await r.json()
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        print(f"sandbox --demo: page answers {page:.2f} s after the command; bot up with the demo bloc {ready:.2f} s")
        private = await typed_round_trips(base, "head", 5_000_001, "/help", n)
        group = await typed_round_trips(base, "deputy", state["group_id"], "/status", n)
        for name, samples in (("private /help", private), ("group /status", group)):
            print(f"typed -> answer pushed to the page, {name}: n={len(samples)}"
                  f" p50 {statistics.median(samples):.1f} ms"
                  f"  p95 {pct(samples, 0.95):.1f} ms  max {max(samples):.1f} ms")
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
    browser = ROOT / "test-output" / "sandbox" / "timings.json"
    if browser.exists():
        print("browser test (Chromium, typed -> answer on screen):", browser.read_text().replace("\n", " "))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
