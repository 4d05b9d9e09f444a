"""Secret votes: the vote itself (question, candidates, rule, times) and its sealed ballot box.

Sealed at opening (bot/services/ballot_box.py). A vote stores only the PUBLIC key of its box
(`public_key`) and, per counting-committee seat, a hash of the member's key share (`committee`);
the private key exists nowhere while the vote runs. A vote has exactly ONE `ballot_box` row:
  - while open/locked, `ballots` is a JSON list of sealed ballots (base64 ciphertexts of one fixed
    length per vote), kept sorted by the ciphertext (random), and `voters` the sorted unit ids;
  - once the committee has opened it, `ballots` is the bulletin board: [receipt code, choices]
    sorted by receipt code, and the ciphertexts are gone.
Every old version of the row (PostgreSQL dead tuples and WAL, SQLite -wal, backups) therefore pairs
units with ciphertexts at most, never with choices. Votes from before the sealed box
(`public_key` NULL) kept [random id, choices] and are still counted as they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Poll(SQLModel, table=True):
    """One secret vote of a bloc. `options` are the candidates: [{"label": str, "unit_id": int|None}]
    (position in the list = the choice index stored on ballots). `eligible` are the unit ids
    entitled to one ballot each, frozen at opening. `rule` is bot.services.tally.Rule as JSON."""

    __tablename__ = "poll"
    # One runoff per vote, whatever two managers or two instances press at once.
    __table_args__ = (Index("uq_poll_runoff_of", "runoff_of_id", unique=True),)

    id: int = Field(default=None, primary_key=True)  # see storage/models/__init__.py on ids
    bloc_id: int = Field(foreign_key="bloc.id", index=True)
    kind: str = Field(max_length=16)  # flag | merit | head | deputy | custom
    question: str = Field(max_length=500)
    options: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    eligible: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | locked (waiting for the committee) | closed | cancelled
    publish_board: bool = False  # publish the receipt list (bulletin board) after closing
    opened_at: datetime = Field(sa_type=UTCDateTime)
    opened_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    closing_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: closed by hand (/close)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # "not voted yet" reminder sent
    runoff_of_id: int | None = Field(default=None, foreign_key="poll.id")
    group_message_id: int | None = Field(default=None, sa_type=BigInteger)  # the vote card in the group
    public_key: str | None = Field(default=None, max_length=64)  # X25519, base64; NULL: a pre-seal vote
    # Counting committee: [{"seat": share index, "person_id", "unit_id", "hash": sha256 of the share,
    #  "chat_id", "message_id": where the share was sent (to take its button away after the count)}]
    committee: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    committee_k: int = 0  # shares needed to open the box
    counted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Facts of the vote-count minutes the head sets (/bienban): place, venue, assembly, doc_number,
    # witnesses [str], committee [{"name", "unit", "role"}] (empty: the sealed box's committee),
    # present (units present at the conference), meeting_at (ISO UTC: the conference's start), copies.
    minutes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class BallotBox(SQLModel, table=True):
    """The sealed box of one vote (see the module docstring). `version` counts casts: it says how
    many ballots are in, which the turnout line shows anyway."""

    __tablename__ = "ballot_box"

    poll_id: int = Field(primary_key=True, foreign_key="poll.id")
    ballots: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    voters: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = 0
    # When ballots came in: sorted UTC minutes ("2026-12-20T07:59"), one per cast. Sorted, so an entry
    # names no voter and no ballot; the minutes count those before the conference started.
    cast_at: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
