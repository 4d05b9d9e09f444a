"""`thidua sandbox [--demo] [--reset] [--port N]`: one clear line and a non-zero exit for every
reason it cannot start (port taken, its data in use by another process, pointed at the real database)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
from pathlib import Path

from bot.i18n import _, use_locale

DEFAULT_DIR = Path("data/sandbox")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="try the bot without Telegram: a local web chat on 127.0.0.1")
    p.add_argument("--demo", action="store_true", help="pre-load a bloc of 14 health centres, a head and 3 reps")
    p.add_argument("--reset", action="store_true", help="wipe the sandbox data first")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DIR, help="where the sandbox keeps its SQLite file")
    p.add_argument("--lang", default=None, help="vi (default) or en")
    p.add_argument("--strict-limits", action="store_true", help="also enforce Telegram's 20 messages/min per group")


def _fail(code: int, line: str) -> int:
    print(line, file=sys.stderr)
    return code


def main(args: argparse.Namespace, settings) -> int:
    import logging

    lang = args.lang or settings.default_locale
    quiet = ["alembic", "apscheduler"]
    if not os.environ.get("SANDBOX_LOG_UPDATES"):  # one line per update is noise here (tests turn it on)
        quiet.append("aiogram.event")
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    with use_locale(lang):
        return asyncio.run(_serve(args, settings, lang))


async def _serve(args: argparse.Namespace, settings, lang: str) -> int:
    from bot.locking import DatabaseBusy, DatabaseLock
    from bot.sandbox.server import Sandbox

    data_dir: Path = args.data_dir
    real = settings.sqlite_path()
    if real is not None and (data_dir / "thidua.sqlite3").resolve() == real.resolve():
        return _fail(2, _("The sandbox must not use the bot's real database ({path}); choose another --data-dir.")
                     .format(path=real))
    sandbox = Sandbox(data_dir, demo=args.demo, lang=lang, strict_limits=args.strict_limits)
    try:
        url = await sandbox.start_web(args.host, args.port)
    except OSError:
        return _fail(4, _("Port {port} on {host} is already in use (is another sandbox running?). "
                          "Stop it or choose another one with --port.").format(port=args.port, host=args.host))
    lock = DatabaseLock(sandbox.db_path)
    try:
        lock.acquire()
    except DatabaseBusy as busy:
        await sandbox.stop()
        return _fail(3, _("{path} is in use by another thidua process (pid {pid}); stop it first.")
                     .format(path=busy.path, pid=busy.pid or "?"))
    try:
        if args.reset and data_dir.exists():
            for child in data_dir.iterdir():
                if child != lock.path:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        await sandbox.start_chats()
        print(_("Sandbox: open {url} in a browser (Ctrl+C stops it). Data: {path}").format(url=url, path=data_dir),
              flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        starting = asyncio.create_task(sandbox.start_bot())
        await stop.wait()
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await sandbox.stop()
        return 0
    finally:
        lock.release()
