"""Files on a Zalo-only bloc, over real HTTP: the bot's own aiohttp app (the routes ZaloService
mounts) is served on a local port and PUBLIC_BASE_URL points at it, so every link the Zalo chat
gets is opened the way a phone's browser (or Zalo's photo fetcher) would open it.

- A representative fills the self-assessment by typing ("1:8 2:9,5"), takes the upload link of the
  evidence step, posts a PDF to the page as a browser form would (multipart), and the Zalo chat
  confirms it; the link then refuses a second file; a too large or wrong-type file is refused and
  leaves the link usable.
- The counted vote's minutes (.docx) reach every Zalo member as a signed link that opens with
  python-docx; the chart comes by sendPhoto with a URL that serves a PNG.
- The head's `export` gives a link to the assessment workbook, which opens with openpyxl."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import docx
import httpx
import openpyxl
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlmodel import select

from bot.channels.zalo.service import ZaloService
from bot.conversations.table import build_table
from bot.fakeapi.zalo import FakeZalo
from bot.render.assessment_xlsx import TEMPLATE_FILENAME
from bot.services import scoring
from storage.models import EvidenceFile, StoredFile, UploadTicket
from tests.e2e.test_zalo_only_bloc_e2e import KEY, TOKEN, UNITS, Bench, _bloc_with_three_reps, number_of

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
UPLOAD = re.compile(r"(https?://\S+/u/[A-Za-z0-9_-]+)")


def link_to(text: str, filename: str) -> str:
    found = re.search(r"(https?://\S+/f/[A-Za-z0-9_-]+/" + re.escape(filename) + r")", text)
    assert found, f"no link to {filename} in:\n{text}"
    return found.group(1)


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.02) as fake:
        yield fake


@pytest.fixture
async def served(zalo, db, clock, settings):
    """The Zalo service's web routes on a local port; PUBLIC_BASE_URL is that address."""
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    settings.max_upload_mb = 1
    service = ZaloService(settings, db, build_table(), clock)
    app = web.Application()
    service.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    settings.public_base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield service
    finally:
        await runner.cleanup()


async def _evidence_rows(db) -> tuple[int, int]:
    async with db.session() as session:
        evidence = len((await session.execute(select(EvidenceFile))).scalars().all())
        stored = len((await session.execute(select(StoredFile))).scalars().all())
    return evidence, stored


async def test_evidence_through_the_upload_page_minutes_and_export_by_link(zalo, db, clock, settings, served):
    async with Bench(zalo, db, clock, settings, front=served.front) as bench, httpx.AsyncClient() as browser:
        head, reps = await _bloc_with_three_reps(bench)
        members = {"head": head, "rep1": reps[0], "rep2": reps[1], "rep3": reps[2]}
        rep = reps[0]

        # -- the self-assessment: typed scores, then a PDF through the one-time upload page ----------
        # The head gets the template file by link (it opens), then loads the built-in table, all on Zalo.
        shown = (await bench.say(head, "table"))[-1]  # the private chat stands for the group: the table, and
        word = shown.rsplit(": gõ ", 1)[1].strip()      # the word that opens the loading menu
        assert word == "tudanhgia table", shown
        menu = (await bench.say(head, word))[-1]
        said = await bench.say(head, number_of(menu, "Tải tệp mẫu"))
        template = await browser.get(link_to("\n".join(said), TEMPLATE_FILENAME))
        assert template.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(template.content)).worksheets[0]
        assert [c.value for c in sheet[1]][:3] == ["Mã", "Nhóm", "Tiêu chí"]
        assert sheet.cell(2, 1).value == "1.1"
        menu = (await bench.say(head, word))[-1]
        said = await bench.say(head, number_of(menu, "Dùng bảng mẫu có sẵn"))
        criteria = len(scoring.template_rows())
        assert "Đã tải bảng chấm điểm" in said[-1] and f"({criteria} dòng)" in said[-1], said
        zone = ZoneInfo(settings.timezone)
        deadline = (clock.now() + timedelta(days=5)).astimezone(zone).strftime("%d/%m/%Y") + " 17:00"
        await bench.say(head, f"assessment {deadline}")
        await bench.flush()
        post = zalo.texts_to(rep["id"])[-1]
        assert "Tự chấm điểm thi đua năm 2026" in post, post
        word = next(line for line in post.splitlines() if ": gõ " in line).split(": gõ ")[1].strip()
        card = (await bench.say(rep, word))[-1]  # "tudanhgia 1"
        assert "Hoàn thành các chỉ tiêu" in card, card
        card = (await bench.say(rep, "1:8 2:9,5"))[-1]
        assert "Đã ghi điểm 2 tiêu chí" in card and "3/" in card, card  # on to the first criterion left
        rest = " ".join(f"{n}:5" for n in range(3, criteria + 1))
        summary = (await bench.say(rep, rest))[-1]
        assert f"Đã ghi điểm {criteria - 2} tiêu chí" in summary and "Tổng hợp" in summary, summary
        screen = (await bench.say(rep, number_of(summary, "Minh chứng")))[-1]
        link = UPLOAD.search(screen)
        assert link, screen
        url = link.group(1)
        assert url.startswith(settings.public_base_url + "/u/")

        page = await browser.get(url)  # what the phone's browser shows: a form with one file field
        assert page.status_code == 200 and "multipart/form-data" in page.text and "type='file'" in page.text

        # A file too large, then one of the wrong type: refused, nothing stored, the link still usable.
        big = b"%PDF-1.4\n" + b"0" * (settings.max_upload_mb * 1024 * 1024 + 10)
        refused = await browser.post(url, files={"file": ("bao-cao-lon.pdf", big, "application/pdf")})
        assert refused.status_code in (400, 413) and "1 MB" in refused.text
        refused = await browser.post(url, files={"file": ("chay-thu.exe", b"MZ\x90\x00", "application/octet-stream")})
        assert refused.status_code == 400 and "type='file'" in refused.text  # the form again, with the reason
        assert await _evidence_rows(db) == (0, 0)
        assert (await browser.get(url)).status_code == 200

        before = len(zalo.texts_to(rep["id"]))
        sent = await browser.post(url, files={"file": ("Báo cáo quý IV 2026.pdf", PDF, "application/pdf")})
        assert sent.status_code == 200 and "Báo cáo quý IV 2026.pdf" in sent.text
        told = zalo.texts_to(rep["id"])[before:]
        assert len(told) == 1 and "Báo cáo quý IV 2026.pdf" in told[0], told  # the Zalo chat confirms it
        next_link = UPLOAD.search(told[0])
        assert next_link and next_link.group(1) != url  # a fresh link for the next file
        async with db.session() as session:
            item = (await session.execute(select(EvidenceFile))).scalar_one()
            kept = (await session.execute(select(StoredFile))).scalar_one()
            ticket = (await session.execute(select(UploadTicket).where(UploadTicket.used_at.is_not(None)))).scalar_one()
        assert item.name == "Báo cáo quý IV 2026.pdf" and item.size == len(PDF) and item.file_id.startswith("stored:")
        assert kept.content == PDF and kept.media_type == "application/pdf"
        assert ticket.person_id == item.uploaded_by_person_id

        # The same link a second time: refused as used, nothing more stored, the chat told nothing.
        again = await browser.post(url, files={"file": ("bao-cao-2026-b.pdf", PDF + b"%", "application/pdf")})
        assert again.status_code == 404 and "đã được dùng" in again.text
        assert await _evidence_rows(db) == (1, 1)
        assert len(zalo.texts_to(rep["id"])) == before + 1

        # The form goes on from the chat's confirmation: summary, submit.
        summary = (await bench.say(rep, number_of(told[0], "Tổng hợp")))[-1]
        done = (await bench.say(rep, number_of(summary, "Nộp")))[-1]
        assert f"{UNITS[0]} đã nộp bảng tự chấm điểm (lần 1): 57,5 điểm" in done, done

        # -- the head's export: a signed link to the workbook --------------------------------------
        said = await bench.say(head, "export")
        answer = "\n".join(said)
        xlsx_name = re.search(r"([\w.-]+\.xlsx)", answer)
        assert xlsx_name, answer
        fetched = await browser.get(link_to(answer, xlsx_name.group(1)))
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        book = openpyxl.load_workbook(io.BytesIO(fetched.content))
        rows = [row for ws in book.worksheets for row in ws.iter_rows(values_only=True)]
        header = next(row for row in rows if "1.1" in row)
        scored = dict(zip(header, next(row for row in rows if UNITS[0] in row), strict=False))
        assert (scored["1.1"], scored["1.2"], scored["Tổng điểm"]) == (8, 9.5, 57.5), scored
        evidence = next(row for row in rows if "Báo cáo quý IV 2026.pdf" in row)  # the uploaded file is listed
        assert UNITS[0] in evidence and "application/pdf" in evidence

        # -- a sealed vote counted: minutes by link, the chart by sendPhoto -------------------------
        await bench.say(head, "vote co 2h")
        await bench.flush()
        keys = {}
        for name, user in members.items():
            found = [KEY.search(t) for t in zalo.texts_to(user["id"]) if t.startswith("🔑")]
            if found and found[0]:
                keys[name] = found[0].group(1)
        for i, r in enumerate(reps):
            ballot = (await bench.say(r, "phieu 1"))[-1]
            await bench.say(r, number_of(ballot, UNITS[i % 2]))
            assert "đã vào hòm phiếu" in (await bench.say(r, "co"))[-1]
        confirm = (await bench.say(head, "close"))[-1]
        await bench.say(head, number_of(confirm, "Đóng"))
        await bench.flush()
        for name in list(keys)[:2]:
            await bench.say(members[name], keys[name])
        await bench.flush()
        for name, user in members.items():
            results = [t for t in zalo.texts_to(user["id"]) if "Kết quả bỏ phiếu" in t]
            assert len(results) == 1, (name, zalo.texts_to(user["id"])[-3:])
            assert "ket-qua-bo-phieu-1.png" not in results[0]  # the chart is a photo, not a link line
            minutes = await browser.get(link_to(results[0], "bien-ban-kiem-phieu-1.docx"))
            assert minutes.status_code == 200
            assert "bien-ban-kiem-phieu-1.docx" in minutes.headers["content-disposition"]
            lines = [p.text for p in docx.Document(io.BytesIO(minutes.content)).paragraphs]
            assert any("BIÊN BẢN KIỂM PHIẾU" in line.upper() for line in lines), lines[:10]
            assert any(UNITS[0] in line for line in lines) or any(
                UNITS[0] in cell.text for t in docx.Document(io.BytesIO(minutes.content)).tables
                for row in t.rows for cell in row.cells)
            photos = [m for m in zalo.sent[user["id"]] if "photo" in m]
            assert len(photos) == 1, (name, photos)
            assert photos[0]["photo"].startswith(settings.public_base_url + "/f/")
            chart = await browser.get(photos[0]["photo"])  # what Zalo does with the URL
            assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
            assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
