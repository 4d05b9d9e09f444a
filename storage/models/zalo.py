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
