"""Zalo: which updates were already handled (getUpdates has no offset, webhooks may redeliver)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ZaloSeen(SQLModel, table=True):
    """One row per (bot, message) handled; the UNIQUE pair makes "first time?" one atomic INSERT."""

    __tablename__ = "zalo_seen"
    __table_args__ = (UniqueConstraint("bot_id", "message_id", name="uq_zalo_seen_bot_message"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bot_id: str = Field(max_length=64)
    message_id: str = Field(max_length=128)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ZaloUser(SQLModel, table=True):
    """Zalo's user ids are hex strings; a person's `external_id` is a number. This row gives each
    Zalo id a number of ours (its primary key), so a Zalo person is `Person(channel="zalo",
    external_id=<ZaloUser.id>)` and we can write back to `zalo_id`."""

    __tablename__ = "zalo_user"

    id: int = Field(default=None, primary_key=True)
    zalo_id: str = Field(max_length=128, unique=True)


class ZaloUsage(SQLModel, table=True):
    """Messages one Zalo bot sent in one calendar month (the Basic plan allows 3,000): counted by
    the outbox's Zalo sender, shown in the status summary; `warned` once the heads were told at 80%."""

    __tablename__ = "zalo_usage"
    __table_args__ = (UniqueConstraint("bot_id", "month", name="uq_zalo_usage_bot_month"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bot_id: str = Field(max_length=64)
    month: str = Field(max_length=7)  # "2026-12", in the bot's time zone
    sent: int = 0
    quota: int = 3000  # the plan's monthly allowance when last counted
    warned: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)
