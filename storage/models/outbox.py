"""The outbox: every scheduled or broadcast message is a row here before it is a Telegram call.

One row per (message, recipient), identified by a UNIQUE `dedup_key`, so planning twice never
sends twice. Rows move pending -> claimed (by one worker, for a lease) -> sent | failed | skipped |
cancelled. A "fanout" row stands for "the private reminders of this reminder": when it falls due
the worker expands it, in one transaction, into one private row per person who still has to act."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Column, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    # set by SQLAlchemy when the class is mapped; declared so the Core statements on it type-check
    __table__: ClassVar[Table]
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_outbox_dedup_key"),
        Index("ix_outbox_status_due", "status", "due_at"),
        Index("ix_outbox_item", "item_kind", "item_id"),
    )

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    dedup_key: str = Field(max_length=200)
    bloc_id: int | None = Field(default=None, foreign_key="bloc.id", index=True)
    item_kind: str = Field(default="", max_length=16)  # meeting | vote | assessment | pledge | ""
    item_id: int | None = None
    item_version: int = 0
    # group (to the bloc's chat) | fanout (expands into private rows) | private | notice
    kind: str = Field(max_length=16)
    chat_id: int | None = Field(default=None, sa_type=BigInteger)  # None for fanout rows
    person_id: int | None = Field(default=None, foreign_key="person.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    # The rendered message (HTML) and its buttons [[label, data, kind], ...]; None = render when due.
    text: str | None = None
    actions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime = Field(sa_type=UTCDateTime)
    urgent: bool = False
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    claim_token: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReminderMute(SQLModel, table=True):
    """A person asked for no more private reminders about one item."""

    __tablename__ = "reminder_mute"
    __table_args__ = (UniqueConstraint("person_id", "item_kind", "item_id"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    person_id: int = Field(foreign_key="person.id", index=True)
    item_kind: str = Field(max_length=16)
    item_id: int
    created_at: datetime = Field(sa_type=UTCDateTime)
