"""Handed-back key shares shared by several instances through Redis, sealed under VAULT_KEY: an
attacker who reads Redis recovers nothing, and without VAULT_KEY a multi-instance setup refuses to
start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Mode, Settings
from bot.services import ballot_box
from bot.services.ballot_box import KeyVault
from bot.services.vault import PREFIX, RedisKeyVault, VaultKeyMissing, make_vault

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis at {REDIS_URL} is needed (scripts/test.sh starts it)")
    for key in client.scan_iter(f"{PREFIX}*"):
        client.delete(key)
    yield client
    for key in client.scan_iter(f"{PREFIX}*"):
        client.delete(key)
    client.close()


def _shares(k: int = 2, n: int = 3) -> tuple[bytes, list[tuple[int, bytes]]]:
    secret = ballot_box.new_secret()
    return secret, ballot_box.split(secret, k, n)


def test_two_instances_share_the_shares(redis_client):
    key = secrets.token_bytes(32)
    a = RedisKeyVault.from_url(REDIS_URL, key, 60)
    b = RedisKeyVault.from_url(REDIS_URL, key, 60)
    secret, shares = _shares()
    assert a.add(41, *shares[0])
    assert not b.add(41, *shares[0])  # the same seat again, typed on the other instance
    assert b.add(41, *shares[1])
    assert a.count(41) == 2 and a.indexes(41) == {shares[0][0], shares[1][0]}
    assert ballot_box.combine(a.shares(41)) == secret
    assert 0 < redis_client.ttl(f"{PREFIX}41") <= 60
    b.forget(41)  # counted: gone from Redis
    assert a.count(41) == 0 and not list(redis_client.scan_iter(f"{PREFIX}*"))


def test_an_attacker_reading_redis_recovers_no_share(redis_client):
    key = secrets.token_bytes(32)
    vault = RedisKeyVault.from_url(REDIS_URL, key, 60)
    secret, shares = _shares()
    for index, share in shares[:2]:
        vault.add(7, index, share)
    dump = b"".join(field + value for name in redis_client.scan_iter("*")
                    if redis_client.type(name) == b"hash"
                    for field, value in redis_client.hgetall(name).items())
    for index, share in shares:
        assert share not in dump
        assert ballot_box.share_token(share).encode() not in dump
        assert ballot_box.share_code(7, index, share).encode() not in dump
    assert secret not in dump
    # With another key (a guess, or a stolen old one) nothing opens.
    thief = RedisKeyVault.from_url(REDIS_URL, secrets.token_bytes(32), 60)
    assert thief.shares(7) == []
    # A sealed share moved to another vote or seat is not accepted there either.
    sealed = redis_client.hget(f"{PREFIX}7", str(shares[0][0]))
    redis_client.hset(f"{PREFIX}8", str(shares[0][0]), sealed)
    redis_client.hset(f"{PREFIX}7", "9", sealed)
    assert vault.shares(8) == []
    assert sorted(i for i, _s in vault.shares(7)) == sorted(i for i, _s in shares[:2])


def test_which_vault_and_the_refusal():
    base = dict(_env_file=None, bot_token="1:x")
    assert type(make_vault(Settings(**base))) is KeyVault
    assert type(make_vault(Settings(**base, redis_url=REDIS_URL))) is KeyVault  # polling: one process
    with pytest.raises(VaultKeyMissing):
        make_vault(Settings(**base, redis_url=REDIS_URL, mode=Mode.webhook))
    with pytest.raises(ValueError):
        make_vault(Settings(**base, redis_url=REDIS_URL, vault_key=SecretStr("too short")))
    vault = make_vault(Settings(**base, redis_url=REDIS_URL, mode=Mode.webhook, vault_key=SecretStr("ab" * 32)))
    assert isinstance(vault, RedisKeyVault)


def test_run_refuses_webhook_with_redis_and_no_vault_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VAULT_KEY"}
    env.update(PYTHONPATH=str(ROOT), BOT_TOKEN="1:x", REDIS_URL=REDIS_URL, MODE="webhook",
               WEBHOOK_BASE_URL="http://127.0.0.1:1", WEBHOOK_SECRET="s" * 20,
               DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3")
    out = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert "VAULT_KEY" in out.stderr
