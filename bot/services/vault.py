"""Where the counting committee's handed-back key shares wait for the k-th one.

One process: its memory (`ballot_box.KeyVault`), as before. Several instances behind a proxy (a key
typed on instance A, the next one on instance B): Redis, but a share is never written there in the
clear. `RedisKeyVault` keeps each share sealed with XSalsa20-Poly1305 (PyNaCl SecretBox) under
VAULT_KEY, a key that exists only in the instances' environment, never in Redis or the database.
Someone who reads Redis (a dump, a replica, a shared Redis) sees random bytes; the sealed text is
bound to its vote and seat, so it cannot be moved to another. The hash expires after
VAULT_TTL_MINUTES (the committee is asked again, as after a restart) and is deleted when the box is
counted.

Rule (`make_vault`): REDIS_URL + VAULT_KEY -> Redis; REDIS_URL in webhook mode without VAULT_KEY ->
refuse to start (`VaultKeyMissing`: two instances would each hold half of the shares, and no count
could ever finish); otherwise memory."""

from __future__ import annotations

import binascii
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from bot.config import Mode, Settings
from bot.services.ballot_box import KeyVault

PREFIX = "thidua:vault:"


class VaultKeyMissing(RuntimeError):
    pass


def parse_key(raw: str) -> bytes:
    try:
        key = binascii.unhexlify(raw.strip())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != SecretBox.KEY_SIZE:
        raise ValueError("VAULT_KEY must be 64 hexadecimal characters (32 bytes); make one with "
                         "python -c \"import secrets; print(secrets.token_hex(32))\"")
    return key


class RedisKeyVault(KeyVault):
    """KeyVault's interface over one Redis hash per vote: field = seat, value = sealed share."""

    def __init__(self, redis: Any, key: bytes, ttl_seconds: int) -> None:
        super().__init__()
        self.redis, self.box, self.ttl = redis, SecretBox(key), max(1, ttl_seconds)

    @classmethod
    def from_url(cls, url: str, key: bytes, ttl_seconds: int) -> RedisKeyVault:
        import redis

        return cls(redis.Redis.from_url(url), key, ttl_seconds)

    @staticmethod
    def _name(poll_id: int) -> str:
        return f"{PREFIX}{int(poll_id)}"

    @staticmethod
    def _label(poll_id: int, index: int) -> bytes:
        return f"{int(poll_id)}:{int(index)}:".encode()

    def add(self, poll_id: int, index: int, share: bytes) -> bool:
        sealed = bytes(self.box.encrypt(self._label(poll_id, index) + share))
        name = self._name(poll_id)
        pipe = self.redis.pipeline()
        pipe.hsetnx(name, str(int(index)), sealed)
        pipe.expire(name, self.ttl)
        added, _ = pipe.execute()
        return bool(added)

    def count(self, poll_id: int) -> int:
        return int(self.redis.hlen(self._name(poll_id)))

    def indexes(self, poll_id: int) -> set[int]:
        return {int(k) for k in self.redis.hkeys(self._name(poll_id))}

    def shares(self, poll_id: int) -> list[tuple[int, bytes]]:
        out = []
        for field, sealed in self.redis.hgetall(self._name(poll_id)).items():
            index = int(field)
            try:
                plain = self.box.decrypt(sealed)
            except CryptoError:
                continue  # not ours (another key, or tampered): as if never handed back
            label = self._label(poll_id, index)
            if plain.startswith(label):
                out.append((index, plain[len(label):]))
        return sorted(out)

    def forget(self, poll_id: int) -> None:
        self.redis.delete(self._name(poll_id))


def make_vault(settings: Settings) -> KeyVault:
    if settings.redis_url and settings.vault_key is not None:
        key = parse_key(settings.vault_key.get_secret_value())
        return RedisKeyVault.from_url(settings.redis_url, key, settings.vault_ttl_minutes * 60)
    if settings.redis_url and settings.mode is Mode.webhook:
        raise VaultKeyMissing(
            "REDIS_URL in webhook mode means several instances may serve this bot: set VAULT_KEY (the same "
            "64 hexadecimal characters on every instance) so that the counting committee's keys reach "
            "the instance that counts. Make one with: python -c \"import secrets; print(secrets.token_hex(32))\"")
    return KeyVault()
