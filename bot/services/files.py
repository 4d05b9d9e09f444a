"""Signed, expiring download links for files a channel cannot send (Zalo has no documents).

`share()` stores the bytes with a SHA-256 of a fresh 128-bit token and returns the token; the
link is `<PUBLIC_BASE_URL>/f/<token>/<filename>`. `fetch()` gives the file back while the link is
alive. The token is the only secret: it is never stored, never logged."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.clock import Clock
from storage.db import rowcount, write
from storage.models import SharedFile

LINK_TTL = timedelta(days=7)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def media_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


async def share(session: AsyncSession, clock: Clock, filename: str, content: bytes,
                ttl: timedelta = LINK_TTL) -> str:
    """Store the file; its token. A write transaction of its own (begin_write commits whatever the
    update had read so far): on SQLite, an INSERT flushed into a read transaction that another
    connection wrote past fails at once with "database is locked" (the sandbox's vote results did)."""
    token = secrets.token_urlsafe(16)
    now = clock.now()
    async with write(session):
        session.add(SharedFile(token_hash=_hash(token), filename=filename[:255], media_type=media_type(filename),
                               content=content, created_at=now, expires_at=now + ttl))
    return token


async def fetch(session: AsyncSession, clock: Clock, token: str) -> SharedFile | None:
    if not token or len(token) > 64:
        return None
    found = (await session.execute(select(SharedFile).where(col(SharedFile.token_hash) == _hash(token)))).scalar()
    if found is None or found.expires_at <= clock.now():
        return None
    return found


async def prune(session: AsyncSession, clock: Clock) -> int:
    """Drop the files whose links have expired."""
    async with write(session):
        result = await session.execute(delete(SharedFile).where(col(SharedFile.expires_at) <= clock.now()))
    return rowcount(result)


def link(base_url: str, token: str, filename: str) -> str:
    return f"{base_url.rstrip('/')}/f/{token}/{quote(filename)}"
