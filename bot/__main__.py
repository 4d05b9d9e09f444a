"""`thidua` / `python -m bot`: run, migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from bot.config import Settings, get_settings

NO_TOKEN = ("BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (/newbot), then put "
            "BOT_TOKEN=<the token> in a .env file here or in the environment, and run again "
            "(or set only ZALO_BOT_TOKEN to serve Zalo alone).")


def _logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiohttp's access log would print webhook URLs; the token is never in them, but keep it quiet.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def cmd_migrate(settings: Settings) -> int:
    from storage.migrate import upgrade

    asyncio.run(upgrade(settings.database_url))  # always asks Alembic (a no-op when current)
    print("database is up to date")
    return 0


def cmd_run(settings: Settings) -> int:
    if settings.bot_token is None and settings.zalo_bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.locking import DatabaseBusy, DatabaseLock
    from bot.runner import run
    from bot.services.vault import VaultKeyMissing, make_vault

    try:
        make_vault(settings)  # refuses a multi-instance setup without VAULT_KEY before anything starts
    except (VaultKeyMissing, ValueError) as err:
        print(str(err), file=sys.stderr)
        return 2

    path = settings.sqlite_path()
    try:
        with DatabaseLock(path) if path else contextlib.nullcontext():
            asyncio.run(run(settings))
    except DatabaseBusy as busy:
        print(f"{busy.path} is in use by another thidua process (pid {busy.pid or '?'}), "
              "for example a sandbox started with DATABASE_URL pointing at it; stop it first.", file=sys.stderr)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="thidua", description="Emulation bloc assistant (khối thi đua)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (polling, or webhook with MODE=webhook)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    from bot.sandbox.cli import add_parser as add_sandbox

    add_sandbox(sub)
    args = parser.parse_args(argv)
    settings = get_settings()
    _logging(settings.log_level)
    if args.command == "migrate":
        return cmd_migrate(settings)
    if args.command == "sandbox":
        from bot.sandbox.cli import main as sandbox_main

        return sandbox_main(args, settings)
    return cmd_run(settings)


if __name__ == "__main__":
    raise SystemExit(main())
