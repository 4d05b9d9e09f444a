from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _run(args, tmp_path, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    full_env.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=full_env, capture_output=True,
                          text=True, timeout=60)


def test_run_without_token_says_how_to_get_one(tmp_path):
    result = _run(["run"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "@BotFather" in lines[0] and "BOT_TOKEN" in lines[0]


def test_migrate_creates_the_sqlite_file(tmp_path):
    result = _run(["migrate"], tmp_path, DATABASE_URL="sqlite+aiosqlite:///./data/x.sqlite3")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "x.sqlite3").exists()


def test_token_is_secret_in_settings_and_reprs(tmp_path):
    (tmp_path / ".env").write_text("BOT_TOKEN=123:SECRET-from-dotenv\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        settings = Settings()
    finally:
        os.chdir(cwd)
    assert settings.bot_token.get_secret_value() == "123:SECRET-from-dotenv"
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings.model_dump())
