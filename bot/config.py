"""Typed settings. Every knob is an environment variable (or a line in `.env`) with a safe default."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    polling = "polling"
    webhook = "webhook"


DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./data/thidua.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str | None = None
    fsm_ttl_hours: int = 24  # every FSM key in Redis expires (a dialog left open does not stay forever)
    telegram_api_base: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    mode: Mode = Mode.polling
    webhook_base_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8081
    log_level: str = "INFO"
    invite_ttl_days: int = 14
    max_upload_mb: int = 20
    # Zalo (bot/channels/zalo): nothing about Zalo starts without a token.
    zalo_bot_token: SecretStr | None = None
    zalo_api_base: str = "https://bot-api.zaloplatforms.com"
    zalo_webhook_secret: SecretStr | None = None
    zalo_monthly_quota: int = 3000  # outbound messages a month on the bot's plan (Basic: 3,000); 80% warns the heads
    # Public https base of the bot's web app (signed download links, upload pages, webhooks).
    public_base_url: str | None = None
    # Several instances behind a proxy share the counting committee's handed-back key shares through
    # Redis, encrypted under this key (64 hex characters), which lives only in the instances'
    # environment. Required with REDIS_URL in webhook mode (bot/services/vault.py).
    vault_key: SecretStr | None = None
    vault_ttl_minutes: int = 120  # a share waits this long for the others, then is asked again

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("vi", "en"):
            raise ValueError("DEFAULT_LOCALE must be 'vi' or 'en'")
        return value

    @field_validator("bot_token", "redis_url", "telegram_api_base", "webhook_base_url", "webhook_secret",
                     "zalo_bot_token", "zalo_webhook_secret", "public_base_url", "vault_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value == "" else value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 8 <= len(value.get_secret_value()) <= 256:
            raise ValueError("ZALO_WEBHOOK_SECRET must be 8 to 256 characters")
        return value

    @field_validator("zalo_api_base", mode="before")
    @classmethod
    def _zalo_base(cls, value):
        return "https://bot-api.zaloplatforms.com" if value in (None, "") else str(value).rstrip("/")

    @property
    def zalo_enabled(self) -> bool:
        return self.zalo_bot_token is not None

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind DATABASE_URL, if it is one (to create its folder)."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            raw = self.database_url[len(prefix):]
            return None if raw in ("", ":memory:") else Path(raw)
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
