"""docker-compose.yml as deployed: Redis keeps nothing on disk and needs a password; the bot talks to
PostgreSQL as a non-superuser that owns its database (docker cannot run here, so the files are read)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_redis_has_no_persistence_and_a_password():
    compose = (ROOT / "docker-compose.yml").read_text()
    redis = compose.split("\n  redis:", 1)[1]
    assert "--appendonly no" in redis and "--save ''" in redis and "--requirepass" in redis
    assert "appendonly yes" not in compose and "redisdata" not in compose
    assert re.search(r"REDIS_URL: redis://:\$\{REDIS_PASSWORD", compose)


def test_bot_is_not_the_postgres_superuser():
    compose = (ROOT / "docker-compose.yml").read_text()
    url = re.search(r"DATABASE_URL: postgresql\+asyncpg://([^:]+):", compose).group(1)
    superuser = re.search(r"POSTGRES_USER: (\S+)", compose).group(1)
    assert url == "thidua" and url != superuser
    init = (ROOT / "docker" / "initdb" / "01-thidua-role.sh").read_text()
    assert "CREATE ROLE thidua LOGIN NOSUPERUSER" in init and "OWNER thidua" in init
    assert "./docker/initdb:/docker-entrypoint-initdb.d" in compose
    bot = compose.split("\n  bot:", 1)[1].split("\n  db:", 1)[0]
    assert "env_file: bot.env" in bot and "POSTGRES_PASSWORD" not in bot  # the superuser password stays out
