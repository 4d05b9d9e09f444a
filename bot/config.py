"""Typed settings. Every knob is an environment variable (or a line in `.env`) with a safe default."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(str, Enum):
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

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("vi", "en"):
            raise ValueError("DEFAULT_LOCALE must be 'vi' or 'en'")
        return value

    @field_validator("bot_token", "redis_url", "telegram_api_base", "webhook_base_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value == "" else value

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
