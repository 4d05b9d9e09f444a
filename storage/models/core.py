"""Blocs, units, people, representatives, invites, audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, true
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Person(SQLModel, table=True):
    """Someone who talked to the bot, on one channel."""

    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    channel: str = Field(default="telegram", max_length=16)
    external_id: int = Field(sa_type=BigInteger)
    full_name: str = Field(default="", max_length=256)
    username: str | None = Field(default=None, max_length=64)
    language_code: str | None = Field(default=None, max_length=16)
    locale: str | None = Field(default=None, max_length=8)  # chosen with /lang; wins over everything
    started: bool = False  # has opened the private chat: we may write to them first
    blocked: bool = False  # blocked the bot (403): do not try again until they come back
    current_bloc_id: int | None = Field(default=None)  # which bloc a private chat talks about
    created_at: datetime = Field(sa_type=UTCDateTime)


class Bloc(SQLModel, table=True):
    """A khối thi đua; lives in one Telegram group."""

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    chat_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    title: str = Field(max_length=200)
    is_active: bool = True
    locale: str = Field(default="vi", max_length=8)
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    year: int
    founder_person_id: int | None = Field(default=None, foreign_key="person.id")
    # Held by units for the current year (no FK: bloc<->unit would be a cycle).
    head_unit_id: int | None = None
    deputy_unit_id: int | None = None
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    # False: a bloc run from private chats (created on Zalo, which has no groups for bots); its
    # chat_id is a placeholder no messenger uses, and its group posts reach each member in private.
    has_group: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Unit(SQLModel, table=True):
    """A member unit. Never deleted: deactivated or merged, so history keeps pointing at it."""

    __table_args__ = (Index("ix_unit_bloc_key", "bloc_id", "name_key"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    name: str = Field(max_length=120)
    name_key: str = Field(max_length=120)  # NFC + casefold + single spaces: duplicate check
    code: str | None = Field(default=None, max_length=32)
    position: int = 0  # order shown in lists
    is_active: bool = True
    merged_into_id: int | None = Field(default=None, foreign_key="unit.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Representative(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    invite_id: int | None = Field(default=None, foreign_key="invite.id")
    joined_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invite(SQLModel, table=True):
    """A join link for one unit. Only a hash of the token is stored: a database reader cannot join."""

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    code_hash: str | None = Field(default=None, max_length=64, unique=True)  # the join code (Zalo), same rules
    created_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Who changed what. Never holds a ballot's content."""

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_person_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
