"""Files on channels without files: signed, expiring links served by the bot's web app."""

from __future__ import annotations

import httpx
from aiohttp import web
from sqlmodel import select

from bot.channels.textfront import TextDelivery, TextFront
from bot.conversations.core import Actor, Chat, Ctx, MemoryStates, Out, Table
from bot.views.base import Attachment, Reply
from bot.web.files import add_routes
from storage.models import SharedFile


async def _front(db, clock, settings):
    front = TextFront(Table([]), db, clock, settings)
    return front


async def _deliver(front, db, clock, settings, reply):
    async with db.session() as session:
        states = MemoryStates()
        chat = Chat("text", 5, True)
        ctx = Ctx(session=session, clock=clock, settings=settings, vault=front.vault, state=states.of(chat, 5),
                  states=states)
        await TextDelivery(front, ctx, Actor(None, None, None, chat)).deliver(Out(reply))


async def test_a_file_becomes_a_link_that_works_and_expires(db, clock, settings):
    settings.public_base_url = "http://127.0.0.1:1"
    front = await _front(db, clock, settings)
    minutes = b"PK\x03\x04 minutes"
    await _deliver(front, db, clock, settings, Reply("Kết quả", attachments=[Attachment("bien-ban.docx", minutes)]))
    text = front.last_to(5)
    assert "bien-ban.docx" in text and "http://127.0.0.1:1/f/" in text
    token = text.split("/f/")[1].split("/")[0]
    async with db.session() as session:
        stored = (await session.execute(select(SharedFile))).scalars().all()
        assert len(stored) == 1 and token not in stored[0].token_hash  # only a hash of the token is kept

    app = web.Application()
    add_routes(app, db, clock)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            ok = await http.get(f"/f/{token}/bien-ban.docx")
            assert ok.status_code == 200 and ok.content == minutes
            assert "bien-ban.docx" in ok.headers["content-disposition"]
            assert (await http.get(f"/f/{token[:-1]}x/bien-ban.docx")).status_code == 404  # forged
            clock.advance(days=7, minutes=1)
            assert (await http.get(f"/f/{token}/bien-ban.docx")).status_code == 404  # expired
    finally:
        await runner.cleanup()


async def test_without_a_public_address_the_bot_says_so(db, clock, settings):
    settings.public_base_url = None
    front = await _front(db, clock, settings)
    await _deliver(front, db, clock, settings, Reply("Kết quả", attachments=[Attachment("xuat.xlsx", b"x")]))
    assert "xuat.xlsx" in front.last_to(5) and "PUBLIC_BASE_URL" in front.last_to(5) and "http" not in front.last_to(5)
    async with db.session() as session:
        assert (await session.execute(select(SharedFile))).scalars().all() == []


async def test_sharing_after_reads_that_another_writer_passed_does_not_fail(db, clock):
    """An update that has read (its read transaction open) and then shares a file, while another
    connection has written meanwhile: the link is made, nothing fails. Flushed into the stale read
    transaction, SQLite refused the INSERT at once ("database is locked"), as the sandbox's vote
    results once did."""
    from sqlalchemy import text

    from bot.services import files

    async with db.session() as session:
        await session.execute(text("SELECT count(*) FROM shared_file"))  # the update's reads so far
        async with db.session() as other:  # another update writes and commits meanwhile
            await files.share(other, clock, "khac.docx", b"other")
        token = await files.share(session, clock, "bien-ban.docx", b"minutes")
    async with db.session() as session:
        found = await files.fetch(session, clock, token)
        assert found is not None and found.content == b"minutes"
        assert len((await session.execute(select(SharedFile))).scalars().all()) == 2
