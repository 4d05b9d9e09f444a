"""Evidence on a channel without files (Zalo): the form sends a one-time upload link (30 minutes,
single use, only the token's hash stored); the page takes the file through the same checks and the
same service call as a Telegram document, then the chat says so and the form goes on."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from aiohttp import web
from sqlmodel import select

from bot.app import build_table
from bot.channels.textfront import TextFront
from bot.conversations.core import Chat
from bot.services import assessments as svc
from bot.services import blocs
from bot.web.uploads import add_routes
from storage.models import EvidenceFile, StoredFile, UploadTicket
from tests.support.textbloc import number_of
from tests.unit.test_assessment_text import GROUP_ID, HEAD, REP, _bloc, _Choices

BASE = "https://thidua.example.vn"
PDF = b"%PDF-1.4 minh chung"


def _letter(text: str, label: str) -> str:
    for line in text.splitlines():
        found = re.match(r"\s*([a-z]) · (.*)", line)
        if found and label in found.group(2):
            return found.group(1)
    raise AssertionError(f"no choice {label!r} in:\n{text}")


def _token(text: str) -> str:
    found = re.search(re.escape(BASE) + r"/u/([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


async def _open_form(db, clock, settings):
    await _bloc(db, clock)
    front = TextFront(build_table(), db, clock, settings, pending=_Choices(clock=clock))
    await front.say(HEAD, "Lan", "/assessment 30/11/2026 17:00", chat=Chat("text", GROUP_ID, False))
    async with db.session() as session:
        rnd = await svc.open_round_of(session, (await blocs.bloc_by_chat(session, GROUP_ID)).id)
    card = "\n".join(await front.say(REP, "Mai", f"tudanhgia {rnd.id}"))
    return front, card


async def _serve(db, clock, settings, front):
    app = web.Application()
    add_routes(app, db, clock, settings, "text", front.push)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _evidence(db) -> list[EvidenceFile]:
    async with db.session() as session:
        return list((await session.execute(select(EvidenceFile))).scalars())


async def test_an_evidence_file_through_the_one_time_page(db, clock, settings):
    settings.public_base_url = BASE
    settings.max_upload_mb = 1
    front, card = await _open_form(db, clock, settings)
    screen = "\n".join(await front.say(REP, "Mai", _letter(card, "Minh chứng")))
    assert "không gửi được tệp" in screen and "30 phút" in screen
    token = _token(screen)
    assert "bằng link" in (await front.say(REP, "Mai", "gửi rồi"))[-1]  # text here: pointed to the link
    async with db.session() as session:
        (ticket,) = (await session.execute(select(UploadTicket))).scalars().all()
        assert token not in ticket.token_hash and ticket.used_at is None  # only a hash of the token is kept

    runner, url = await _serve(db, clock, settings, front)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            page = await http.get(f"/u/{token}")
            assert page.status_code == 200 and "type='file'" in page.text and "Tải tệp minh chứng" in page.text

            # The same checks as a Telegram document: a wrong type, too large -> refused, the link still works.
            bad = await http.post(f"/u/{token}", files={"file": ("virus.exe", b"MZ")})
            assert bad.status_code == 400 and "Không nhận loại tệp này" in bad.text
            big = await http.post(f"/u/{token}", files={"file": ("scan.pdf", b"x" * (1024 * 1024 + 10))})
            assert big.status_code in (400, 413) and "quá lớn" in big.text
            assert await _evidence(db) == []

            ok = await http.post(f"/u/{token}", files={"file": ("bao-cao.pdf", PDF)})
            assert ok.status_code == 200 and "bao-cao.pdf" in ok.text
            (item,) = await _evidence(db)
            assert item.name == "bao-cao.pdf" and item.size == len(PDF) and item.file_id.startswith("stored:")
            async with db.session() as session:
                (blob,) = (await session.execute(select(StoredFile))).scalars().all()
                assert blob.content == PDF
            # The chat is told, with a fresh link for the next file; the form goes on from there.
            told = front.last_to(REP)
            assert "Đã nhận: bao-cao.pdf" in told and _token(told) != token
            summary = "\n".join(await front.say(REP, "Mai", number_of(told, "Tổng hợp")))
            assert "Tệp minh chứng: 1" in summary

            # Single use: the same link again stores nothing.
            again = await http.post(f"/u/{token}", files={"file": ("lan-2.pdf", PDF)})
            assert again.status_code == 404 and "hết hạn" in again.text
            assert (await http.get(f"/u/{token}")).status_code == 404
            assert len(await _evidence(db)) == 1

            # Expired after 30 minutes; a forged token is refused the same way.
            fresh = _token(told)
            clock.advance(minutes=31)
            late = await http.post(f"/u/{fresh}", files={"file": ("muon.pdf", PDF)})
            assert late.status_code == 404
            assert (await http.post("/u/forged-token", files={"file": ("x.pdf", PDF)})).status_code == 404
            assert len(await _evidence(db)) == 1
    finally:
        await runner.cleanup()




async def test_no_public_address_says_so_plainly(db, clock, settings):
    settings.public_base_url = None
    front, card = await _open_form(db, clock, settings)
    screen = "\n".join(await front.say(REP, "Mai", _letter(card, "Minh chứng")))
    assert "PUBLIC_BASE_URL" in screen and "/u/" not in screen
    async with db.session() as session:
        assert (await session.execute(select(UploadTicket))).scalars().all() == []


async def test_expired_tickets_are_pruned_by_the_hourly_job(db, clock, settings):
    from bot.conversations.assessment_form import prune_links
    from bot.services import uploads

    await _open_form(db, clock, settings)
    async with db.session() as session:
        rnd = await svc.open_round_of(session, (await blocs.bloc_by_chat(session, GROUP_ID)).id)
        old = await uploads.issue(session, clock, rnd.id, 1)
        clock.advance(minutes=20)
        fresh = await uploads.issue(session, clock, rnd.id, 1)
        clock.advance(minutes=15)  # the first is 35 minutes old: expired; the second still works

    class App:
        pass

    app = App()
    app.db, app.clock = db, clock
    await prune_links(app)
    async with db.session() as session:
        assert len((await session.execute(select(UploadTicket))).scalars().all()) == 1
        assert await uploads.ticket(session, clock, old) is None
        assert await uploads.ticket(session, clock, fresh) is not None
    assert uploads.UPLOAD_TTL == timedelta(minutes=30)
