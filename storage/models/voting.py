"""Secret votes: the vote itself (question, candidates, rule, times) and its sealed ballot box.

Secrecy by construction. A vote has exactly ONE `ballot_box` row. It holds
  - `ballots`: a JSON list of [random 128-bit id (hex), sorted choice indexes], kept sorted by the id,
  - `voters`: the sorted list of unit ids that have voted,
and both are rewritten together in the transaction that casts a ballot. So no row, column, id,
timestamp or position ties a unit (or a person) to a ballot: the ballot's place in the list is
decided by its random id, not by when it was cast, and the unit list is sorted by unit id.
There is no per-ballot row (whose rowid / heap position would follow casting order), no
per-ballot timestamp and no foreign key from a ballot to anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Poll(SQLModel, table=True):
    """One secret vote of a bloc. `options` are the candidates: [{"label": str, "unit_id": int|None}]
    (position in the list = the choice index stored on ballots). `eligible` are the unit ids
    entitled to one ballot each, frozen at opening. `rule` is bot.services.tally.Rule as JSON."""

    __tablename__ = "poll"

    id: int | None = Field(default=None, primary_key=True)
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    kind: str = Field(max_length=16)  # flag | merit | head | deputy | custom
    question: str = Field(max_length=500)
    options: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    eligible: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | closed | cancelled
    publish_board: bool = False  # publish the receipt list (bulletin board) after closing
    opened_at: datetime = Field(sa_type=UTCDateTime)
    opened_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    closing_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: closed by hand (/close)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # "not voted yet" reminder sent
    runoff_of_id: int | None = Field(default=None, foreign_key="poll.id")
    group_message_id: int | None = Field(default=None, sa_type=BigInteger)  # the vote card in the group


class BallotBox(SQLModel, table=True):
    """The sealed box of one vote (see the module docstring). `version` counts casts: it says how
    many ballots are in, which the turnout line shows anyway."""

    __tablename__ = "ballot_box"

    poll_id: int = Field(primary_key=True, foreign_key="poll.id")
    ballots: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    voters: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = 0
