"""Files handed out as signed, expiring links (for channels that cannot send files: Zalo)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
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
