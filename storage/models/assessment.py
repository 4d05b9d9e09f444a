"""Scoring tables, self-assessment rounds, drafts, submitted versions, evidence files, pledges.

Scores and notes are JSON maps keyed by the criterion id (as text): a draft or a version is one
row, read and written whole, so a form step is one small write and a version is a frozen copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ScoringTable(SQLModel, table=True):
    """One loaded scoring table (khung tiêu chí). The newest of a bloc is the current one;
    a round keeps pointing at the table it was opened with."""

    __tablename__ = "scoring_table"

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    year: int
    source: str = Field(default="template", max_length=200)  # "template" or the file name
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by_person_id: int | None = Field(default=None, foreign_key="person.id")


class Criterion(SQLModel, table=True):
    __tablename__ = "criterion"
    __table_args__ = (UniqueConstraint("table_id", "code"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    table_id: int = Field(foreign_key="scoring_table.id", index=True)
    position: int
    code: str = Field(max_length=32)
    group_name: str = Field(default="", max_length=200)
    text: str = Field(max_length=1000)
    max_points: float
    kind: str = Field(default="normal", max_length=16)  # normal | bonus | penalty


class AssessmentRound(SQLModel, table=True):
    __tablename__ = "assessment_round"

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    table_id: int = Field(foreign_key="scoring_table.id")
    year: int
    opened_at: datetime = Field(sa_type=UTCDateTime)
    opened_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    deadline: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    group_message_id: int | None = Field(default=None, sa_type=BigInteger)  # the "Nộp tự chấm điểm" post


class AssessmentDraft(SQLModel, table=True):
    """The unit's working copy: shared by all representatives of the unit, survives restarts."""

    __tablename__ = "assessment_draft"
    __table_args__ = (UniqueConstraint("round_id", "unit_id"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    round_id: int = Field(foreign_key="assessment_round.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    position: int = 0  # the criterion shown last, to continue there
    # editing: being filled; submitted: equals the last version (reopen to edit)
    state: str = Field(default="editing", max_length=16)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by_person_id: int | None = Field(default=None, foreign_key="person.id")


class SubmissionVersion(SQLModel, table=True):
    """A frozen submission. Never changed, except to record that the head returned it."""

    __tablename__ = "submission_version"
    __table_args__ = (UniqueConstraint("round_id", "unit_id", "version"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    round_id: int = Field(foreign_key="assessment_round.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    version: int
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: float
    late: bool = False
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    submitted_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    returned_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    return_reason: str | None = Field(default=None, max_length=1000)


class EvidenceFile(SQLModel, table=True):
    """A minh chứng: kept by Telegram file_id, with what the sender told us about it."""

    __tablename__ = "evidence_file"

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    round_id: int = Field(foreign_key="assessment_round.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    file_id: str = Field(max_length=256)
    file_unique_id: str = Field(default="", max_length=128)
    name: str = Field(max_length=256)
    size: int = Field(default=0, sa_type=BigInteger)
    mime: str = Field(default="", max_length=128)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
    uploaded_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Pledge(SQLModel, table=True):
    """The giao ước thi đua of a year: text and/or a file."""

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    year: int
    text: str = Field(default="", max_length=3500)
    file_id: str | None = Field(default=None, max_length=256)
    file_name: str | None = Field(default=None, max_length=256)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    group_message_id: int | None = Field(default=None, sa_type=BigInteger)
    is_active: bool = True
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)  # sign by; reminders planned before it


class PledgeSignature(SQLModel, table=True):
    __tablename__ = "pledge_signature"
    __table_args__ = (UniqueConstraint("pledge_id", "unit_id"),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    pledge_id: int = Field(foreign_key="pledge.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    signed_at: datetime = Field(sa_type=UTCDateTime)
