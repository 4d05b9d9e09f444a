"""The vote result chart on Zalo goes out with sendPhoto by a signed URL of the bot's own web app
(Zalo fetches it); the fake Zalo refuses a photo that is not a URL; without a public address no
dead link is sent and the chat says so."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from bot.channels.textfront import TextDelivery
from bot.channels.zalo.client import BadRequest, ZaloClient
from bot.channels.zalo.front import ZaloFront
from bot.conversations.core import Actor, Chat, Ctx, MemoryStates, Out
from bot.fakeapi.zalo import FakeZalo
from bot.views.base import Attachment, Reply
from bot.web.files import add_routes
from tests.support.textbloc import text_bloc

TOKEN = "8080808080:chart-secret"
PNG = b"\x89PNG\r\n\x1a\n chart"


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.02) as fake:
        yield fake


def _results() -> Reply:
    return Reply("<b>Kết quả bỏ phiếu #1</b>", attachments=[
        Attachment("ket-qua-bo-phieu-1.png", PNG, kind="photo"),
        Attachment("bien-ban-kiem-phieu-1.docx", b"PK\x03\x04", kind="document")])


async def _deliver(front: ZaloFront, db, clock, settings, number: int, reply: Reply) -> None:
    async with db.session() as session:
        states = MemoryStates()
        chat = Chat("zalo", number, True)
        ctx = Ctx(session=session, clock=clock, settings=settings, vault=front.text.vault,
                  state=states.of(chat, number), states=states, channel="zalo")
        await TextDelivery(front.text, ctx, Actor(None, None, None, chat)).deliver(Out(reply))


async def test_the_chart_goes_by_send_photo_from_our_web_app(zalo, db, clock, settings):
    tb = await text_bloc(db, clock, settings, reps=0)
    app = web.Application()
    add_routes(app, db, clock)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    settings.public_base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    user = zalo.add_user("Chị Mai")
    await zalo.send_text(user, "xin chào")  # Zalo: the bot may write only to someone who wrote to it
    try:
        async with ZaloClient(TOKEN, zalo.base_url) as client:
            front = ZaloFront(client, tb.front.table, db, clock, settings)
            number = await front.number_of(user["id"])
            await _deliver(front, db, clock, settings, number, _results())
            sent = zalo.sent[user["id"]]
            text = [m for m in sent if "text" in m]
            photos = [m for m in sent if "photo" in m]
            assert len(photos) == 1 and photos[0]["photo"].startswith(settings.public_base_url + "/f/")
            assert "ket-qua-bo-phieu-1.png" not in text[0]["text"]  # the chart is a photo, not a link line
            assert "bien-ban-kiem-phieu-1.docx" in text[0]["text"]  # the minutes stay a download link
            async with httpx.AsyncClient() as http:  # what Zalo does with the URL
                fetched = await http.get(photos[0]["photo"])
                assert fetched.status_code == 200 and fetched.content == PNG
                assert fetched.headers["content-type"] == "image/png"

            # The fake refuses like Zalo: a photo must be a public URL.
            with pytest.raises(BadRequest):
                await client.send_photo(user["id"], "ket-qua.png")
    finally:
        await runner.cleanup()


async def test_without_a_public_address_no_dead_link(zalo, db, clock, settings):
    tb = await text_bloc(db, clock, settings, reps=0)
    settings.public_base_url = None
    user = zalo.add_user("Anh Hùng")
    await zalo.send_text(user, "xin chào")
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        front = ZaloFront(client, tb.front.table, db, clock, settings)
        number = await front.number_of(user["id"])
        await _deliver(front, db, clock, settings, number, _results())
    sent = zalo.sent[user["id"]]
    assert not [m for m in sent if "photo" in m]
    assert "ket-qua-bo-phieu-1.png" in sent[0]["text"] and "PUBLIC_BASE_URL" in sent[0]["text"]
