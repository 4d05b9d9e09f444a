"""Files handed out as signed, expiring links (for channels that cannot send files: Zalo)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class SharedFile(SQLModel, table=True):
    """One file behind a link. Only a SHA-256 of the link's token is stored: reading the database
    does not give anyone the links."""

    __tablename__ = "shared_file"

    id: int = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=128)
    content: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class UploadTicket(SQLModel, table=True):
    """A one-time upload link for a channel that cannot send files (Zalo): one evidence file for
    one person's self-assessment form. Only a SHA-256 of the token is stored; `used_at` is set
    when the file is accepted, in the same transaction."""

    __tablename__ = "upload_ticket"

    id: int = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    round_id: int = Field(foreign_key="assessment_round.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StoredFile(SQLModel, table=True):
    """The bytes of a file that came in through an upload page (a Telegram document stays on
    Telegram, known by its file_id); the evidence row refers to it as "stored:<id>"."""

    __tablename__ = "stored_file"

    id: int = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=128)
    size: int = Field(default=0, sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)
