"""`thidua sandbox` as a command: it starts with no token and no network, never touches the database
in DATABASE_URL, and refuses with one clear line and a non-zero exit a taken port, data in use by
another process (a sandbox, or the real bot polling), and a data dir that is the real database.
`--reset` wipes the sandbox's chats and database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from bot.fakeapi import FakeTelegram

ENV = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL",
                                                         "TELEGRAM_API_BASE", "MODE")}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _spawn(*args: str, cwd: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=cwd, env={**ENV, **env},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _finish(proc: asyncio.subprocess.Process, timeout: float = 60) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


async def _ready(port: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/api/state") as r:
                    state = await r.json()
                    if state["status"] == "ready":
                        return state
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the sandbox never became ready")


async def _stop(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    return await _finish(proc, 20)


async def test_refusals_and_reset(tmp_path):
    data = tmp_path / "sb"
    real_db = tmp_path / "real" / "thidua.sqlite3"
    real_url = f"sqlite+aiosqlite:///{real_db}"
    port = _port()
    first = await _spawn("sandbox", "--port", str(port), "--data-dir", str(data), cwd=tmp_path,
                         DATABASE_URL=real_url)
    try:
        state = await _ready(port)
        group = state["group_id"]
        async with aiohttp.ClientSession() as http:
            await http.post(f"http://127.0.0.1:{port}/api/send",
                            json={"persona": "head", "chat": group, "text": "/setup Khối trước khi xoá"})

        # A second sandbox on the same port: one line, exit 4, nothing started.
        code, out, err = await _finish(await _spawn("sandbox", "--port", str(port), "--data-dir",
                                                    str(tmp_path / "other"), cwd=tmp_path))
        assert code == 4 and f"Cổng {port}" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "other" / "thidua.sqlite3").exists()
        # Another sandbox on the same data: exit 3.
        code, _out, err = await _finish(await _spawn("sandbox", "--port", str(_port()), "--data-dir", str(data),
                                                     cwd=tmp_path))
        assert code == 3 and "đang được một tiến trình thidua khác dùng" in err
        assert len(err.strip().splitlines()) == 1
        # The real bot pointed at the sandbox's file while the sandbox runs: exit 3 before any network.
        code, _out, err = await _finish(await _spawn("run", cwd=tmp_path, BOT_TOKEN="1:x",
                                                     DATABASE_URL=f"sqlite+aiosqlite:///{data / 'thidua.sqlite3'}"))
        assert code == 3 and "in use by another thidua process" in err
        # --reset while it runs: refused too, nothing wiped.
        code, _out, _err = await _finish(await _spawn("sandbox", "--reset", "--port", str(_port()), "--data-dir",
                                                      str(data), cwd=tmp_path))
        assert code == 3 and (data / "thidua.sqlite3").exists()
    finally:
        code, out, err = await _stop(first)
    assert code == 0, err
    assert "http://127.0.0.1:" in out
    assert not real_db.exists()  # the sandbox never touched DATABASE_URL's database
    saved = json.loads((data / "chats.json").read_text())
    assert any("Khối trước khi xoá" in (m.get("text") or "") for m in saved["telegram"]["history"][str(group)])

    # The sandbox pointed at the real database: refused.
    code, _out, err = await _finish(await _spawn("sandbox", "--port", str(_port()), "--data-dir", str(real_db.parent),
                                                 cwd=tmp_path, DATABASE_URL=real_url))
    assert code == 2 and "cơ sở dữ liệu thật" in err

    # --reset: a new sandbox with nothing of the old one.
    port = _port()
    again = await _spawn("sandbox", "--reset", "--port", str(port), "--data-dir", str(data), cwd=tmp_path)
    try:
        state = await _ready(port)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/api/messages",
                                params={"persona": "head", "chat": state["group_id"]}) as r:
                messages = (await r.json())["messages"]
        assert len(messages) == 2 and "/setup" in messages[1]["html"]  # "added the bot" + the bot's greeting
        assert not any("Khối trước khi xoá" in m["html"] for m in messages)
    finally:
        code, _out, err = await _stop(again)
    assert code == 0, err


async def test_sandbox_refused_while_the_real_bot_polls_its_file(tmp_path):
    """The real bot (`thidua run`, polling a fake Telegram) holds its SQLite file: a sandbox given that
    folder does not start."""
    async with FakeTelegram(token="123:real-mode") as tg:
        data = tmp_path / "shared"
        real = await _spawn("run", cwd=tmp_path, BOT_TOKEN="123:real-mode", TELEGRAM_API_BASE=tg.base_url,
                            DATABASE_URL=f"sqlite+aiosqlite:///{data / 'thidua.sqlite3'}")
        try:
            deadline = time.monotonic() + 60
            while "getupdates" not in tg.arrivals:  # the real bot is polling
                assert time.monotonic() < deadline and real.returncode is None, "the real bot did not start polling"
                await asyncio.sleep(0.1)
            code, _out, err = await _finish(await _spawn("sandbox", "--port", str(_port()), "--data-dir", str(data),
                                                         cwd=tmp_path))
            assert code == 3 and "đang được một tiến trình thidua khác dùng" in err
            assert not (data / "chats.json").exists()
        finally:
            await tg.release_pollers()
            real.send_signal(signal.SIGINT)
            code, _out, err = await _finish(real, 30)
        assert code == 0, err
