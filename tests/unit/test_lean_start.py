"""What a process imports and does at start (issue 15): the heavy libraries only when used, the
migrations only when the schema is behind, and a Zalo-only process without aiogram. Subprocesses,
so that nothing this test run imported counts."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.fakeapi.zalo import FakeZalo
from bot.runner import GC_YOUNG
from storage.db import Database
from storage.migrate import is_current, script_heads

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "docx", "openpyxl", "alembic", "babel")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BOT_TOKEN", "ZALO_BOT_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def test_heavy_libraries_wait_until_used(db_url):
    """The app built, /help and /status handled in a group: none of matplotlib, python-docx,
    openpyxl, Alembic or Babel imported (the database is the test's, already migrated)."""
    probe = textwrap.dedent(f"""
        import asyncio, sys
        from aiogram.fsm.storage.memory import MemoryStorage
        from bot.app import build_dispatcher
        from bot.config import Settings
        from storage.db import Database
        from storage.migrate import upgrade_if_needed
        from tests.support.flow import Flow

        async def main():
            url = {db_url!r}
            db = Database(url)
            assert not await upgrade_if_needed(db.engine, url)
            app = build_dispatcher(Settings(_env_file=None, bot_token="1:x", database_url=url), db,
                                   storage=MemoryStorage())
            flow = Flow(app)
            head = flow.user("Lan", admin=True)
            await flow.send(head, "/setup Khối thi đua", chat=flow.group)
            await flow.send(head, "/help", chat=flow.group)
            await flow.send(head, "/status", chat=flow.group)
            assert "Khối thi đua" in flow.last_text(flow.group.id), flow.last_text(flow.group.id)
            await db.dispose()
            print(" ".join(m for m in {HEAVY!r} if m in sys.modules) or "none")

        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "none"


async def test_schema_check_without_alembic(db_url, tmp_path):
    """The head comes from the migration files; a migrated database is current, an empty one or
    one a revision behind is not."""
    assert len(script_heads()) == 1
    db = Database(db_url)
    try:
        assert await is_current(db.engine)
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        assert not await is_current(db.engine)
    finally:
        await db.dispose()
    empty = Database(f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3")
    try:
        assert not await is_current(empty.engine)
    finally:
        await empty.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
async def test_zalo_only_serves_zalo_without_aiogram(tmp_path):
    """`thidua run` with ZALO_BOT_TOKEN and no BOT_TOKEN: migrates, polls the (fake) Zalo API,
    answers a Zalo user, and never imports aiogram (Python's own import log says so). Once built,
    the process settles its heap (bot.runner.settle_heap: the start-up objects frozen out of the
    garbage collector's walks), and its log says how many objects that froze."""
    token = "8080808080:zalo-only-secret"
    async with FakeZalo(token=token, poll_timeout=0.2) as zalo:
        env = _env(ZALO_BOT_TOKEN=token, ZALO_API_BASE=zalo.base_url, LOG_LEVEL="INFO",
                   DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/zalo.sqlite3", WEBHOOK_HOST="127.0.0.1",
                   WEBHOOK_PORT=str(_free_port()))
        proc = await asyncio.create_subprocess_exec(sys.executable, "-X", "importtime", "-m", "bot", "run",
                                                    cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
        try:
            await zalo.wait_for(lambda: "getupdates" in [a.lower() for a in zalo.arrivals], timeout=60)
            user = zalo.add_user("Anh Tuấn")
            await zalo.send_text(user, "/sign")
            texts = await zalo.wait_for(lambda: zalo.texts_to(user["id"]), timeout=30)
            assert "chưa đăng giao ước" in texts[-1]
        finally:
            proc.terminate()
            _out, err = await asyncio.wait_for(proc.communicate(), 30)
        imported = {line.rsplit("|", 1)[-1].strip() for line in err.decode().splitlines() if "import time:" in line}
        assert "bot.channels.zalo.service" in imported
        assert not {m for m in imported if m.split(".")[0] == "aiogram"}
        settled = re.search(r"heap settled: (\d+) objects frozen, gc thresholds \((\d+),", err.decode())
        assert settled is not None, err.decode()[-2000:]
        assert int(settled.group(1)) > 10_000 and int(settled.group(2)) == GC_YOUNG
