"""Meetings (lịch họp) and the units' answers (tham dự / vắng mặt / cử người dự thay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Meeting(SQLModel, table=True):
    __tablename__ = "meeting"

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    title: str = Field(max_length=200)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=200)
    agenda: str = Field(default="", max_length=2000)
    file_id: str | None = Field(default=None, max_length=200)
    file_name: str | None = Field(default=None, max_length=200)
    status: str = Field(default="scheduled", max_length=12)  # scheduled | cancelled
    # Bumped on reschedule: answers and reminders belong to one version of the meeting.
    version: int = 1
    group_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MeetingRsvp(SQLModel, table=True):
    """One answer per unit and meeting version (a reschedule asks again; old answers stay as history)."""

    __tablename__ = "meeting_rsvp"
    __table_args__ = (UniqueConstraint("meeting_id", "version", "unit_id"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    version: int
    unit_id: int = Field(foreign_key="unit.id", index=True)
    answer: str = Field(max_length=12)  # attend | absent | substitute
    substitute_name: str | None = Field(default=None, max_length=120)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime = Field(sa_type=UTCDateTime)
