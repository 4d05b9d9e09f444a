"""One-time upload links: how a person on a channel that cannot send files (Zalo) hands in an
evidence file for the self-assessment.

`issue()` stores a SHA-256 of a fresh 128-bit token (never the token) with the round and the
person, valid for 30 minutes; the link is `<PUBLIC_BASE_URL>/u/<token>` (bot/web/uploads.py).
`accept()` takes the file through the same checks and the same service call as a Telegram
document (`assessments.add_evidence`), and spends the link in that same write transaction: a
refused file leaves the link usable and nothing stored; a used, expired or forged link stores
nothing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import _
from bot.services import assessments
from bot.services.errors import UserError
from bot.services.files import media_type
from storage.db import rowcount, write
from storage.models import EvidenceFile, Person, StoredFile, UploadTicket

UPLOAD_TTL = timedelta(minutes=30)
STORED_PREFIX = "stored:"  # EvidenceFile.file_id of a file whose bytes are in stored_file


class LinkGone(UserError):
    """The link was used, has expired, or never existed."""


def link_gone() -> LinkGone:
    return LinkGone(_("This upload link has expired, was already used or does not exist. "
                      "Open the evidence list in the chat with the bot to get a new one."))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


async def issue(session: AsyncSession, clock: Clock, round_id: int, person_id: int,
                ttl: timedelta = UPLOAD_TTL) -> str:
    token = secrets.token_urlsafe(16)
    now = clock.now()
    async with write(session):  # after the update's reads: their transaction is committed first
        session.add(UploadTicket(token_hash=_hash(token), round_id=round_id, person_id=person_id,
                                 created_at=now, expires_at=now + ttl))
    return token


async def ticket(session: AsyncSession, clock: Clock, token: str) -> UploadTicket | None:
    """The link's ticket while it can still be used, else None."""
    if not token or len(token) > 64:
        return None
    found = (await session.execute(
        select(UploadTicket).where(col(UploadTicket.token_hash) == _hash(token)))).scalars().first()
    if found is None or found.used_at is not None or found.expires_at <= clock.now():
        return None
    return found


@dataclass
class Accepted:
    form: assessments.Form
    item: EvidenceFile
    person: Person


async def accept(session: AsyncSession, clock: Clock, token: str, filename: str, content: bytes,
                 max_mb: int) -> Accepted:
    found = await ticket(session, clock, token)
    if found is None:
        raise link_gone()
    person = await session.get(Person, found.person_id)
    if person is None:
        raise link_gone()
    sha = hashlib.sha256(content).hexdigest()
    ticket_id, now = found.id, clock.now()

    async def spend_and_store() -> None:
        spent = await session.execute(
            update(UploadTicket)
            .where(col(UploadTicket.id) == ticket_id, col(UploadTicket.used_at).is_(None),
                   col(UploadTicket.expires_at) > now)
            .values(used_at=now))
        if rowcount(spent) != 1:  # another upload with the same link got there first
            raise link_gone()
        session.add(StoredFile(filename=filename[:255], media_type=media_type(filename), size=len(content),
                               sha256=sha, content=content, created_at=now))

    form, item = await assessments.add_evidence(session, clock, found.round_id, person, STORED_PREFIX + sha, sha,
                                                filename, len(content), max_mb, before_commit=spend_and_store)
    return Accepted(form, item, person)


async def prune(session: AsyncSession, clock: Clock) -> int:
    """Drop the tickets that can no longer be used (expired; a used one is kept with its time until
    it expires, then dropped too). The files themselves stay with their evidence rows."""
    async with write(session):
        result = await session.execute(delete(UploadTicket).where(col(UploadTicket.expires_at) <= clock.now()))
    return rowcount(result)


async def stored(session: AsyncSession, file_id: str) -> StoredFile | None:
    """The bytes behind an evidence file that came in through an upload page."""
    if not file_id.startswith(STORED_PREFIX):
        return None
    return (await session.execute(select(StoredFile).where(
        col(StoredFile.sha256) == file_id[len(STORED_PREFIX):]))).scalars().first()
