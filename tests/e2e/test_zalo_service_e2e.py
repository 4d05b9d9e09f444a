"""The Zalo service as `thidua run` starts it: polling, or the webhook on the bot's web app (the
file links are served beside it). A wrong webhook secret is refused and nothing is processed."""

from __future__ import annotations

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.channels.zalo.service import WEBHOOK_PATH, ZaloService
from bot.conversations.table import build_table
from bot.fakeapi.zalo import FakeZalo

TOKEN = "8080808080:service-secret"


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.02) as fake:
        yield fake


async def test_polling_answers_a_zalo_user(zalo, db, clock, settings):
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    service = ZaloService(settings, db, build_table(), clock)
    await service.start()
    try:
        user = zalo.add_user("Anh Tuấn")
        await zalo.send_text(user, "/sign")
        texts = await zalo.wait_for(lambda: zalo.texts_to(user["id"]))
        assert "chưa đăng giao ước" in texts[-1]
        assert zalo.webhook is None
    finally:
        await service.stop()


async def test_webhook_mode_checks_the_secret(zalo, db, clock, settings):
    web_app = web.Application()
    runner = web.AppRunner(web_app)
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    settings.zalo_webhook_secret = SecretStr("w" * 16)
    service = ZaloService(settings, db, build_table(), clock)
    service.add_routes(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    settings.public_base_url = base
    try:
        await service.start()
        assert zalo.webhook["url"] == base + WEBHOOK_PATH
        user = zalo.add_user("Chị Hà")
        await zalo.send_text(user, "/sign")  # the fake posts it to our webhook with the secret
        texts = await zalo.wait_for(lambda: zalo.texts_to(user["id"]))
        assert "chưa đăng giao ước" in texts[-1]
        update = {"event_name": "message.text.received",
                  "message": {"message_id": "forged-1", "date": 1, "from": {"id": user["id"], "display_name": "X"},
                              "chat": {"id": user["id"], "chat_type": "PRIVATE"}, "text": "/sign"}}
        status, _body = await zalo.post_webhook(base + WEBHOOK_PATH, update, "wrong-secret-value")
        assert status == 401
        status, _body = await zalo.post_webhook(base + WEBHOOK_PATH, update, None)
        assert status == 401
        assert len(zalo.texts_to(user["id"])) == 1  # nothing processed
    finally:
        await service.stop()
        await runner.cleanup()
