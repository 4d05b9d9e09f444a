"""MODE=webhook: aiogram's handler on aiohttp checks Telegram's secret-token header."""

from __future__ import annotations

from aiogram.fsm.storage.memory import MemoryStorage
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_dispatcher
from bot.config import Settings
from bot.runner import build_webhook_app
from tests.support.flow import Flow

UPDATE = {"update_id": 1, "message": {"message_id": 1, "date": 1795000000,
                                      "chat": {"id": 5001, "type": "private", "first_name": "An"},
                                      "from": {"id": 5001, "is_bot": False, "first_name": "An"},
                                      "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


async def test_webhook_refuses_requests_without_the_secret(db, settings, clock):
    settings = Settings(_env_file=None, bot_token="1:x", database_url=settings.database_url,
                        webhook_base_url="https://bot.example.org", webhook_secret="s3cret-value")
    app = build_dispatcher(settings, db, clock=clock, storage=MemoryStorage())
    flow = Flow(app)
    web_app = build_webhook_app(app, flow.bot, settings)
    async with TestClient(TestServer(web_app)) as client:
        refused = await client.post(settings.webhook_path, json=UPDATE)
        assert refused.status == 401
        assert not flow.sent
        wrong = await client.post(settings.webhook_path, json=UPDATE,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        assert wrong.status == 401
        ok = await client.post(settings.webhook_path, json=UPDATE,
                               headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"})
        assert ok.status == 200
    # handle_in_background: the update is processed after the 200; wait for it
    import asyncio

    for _ in range(100):
        if flow.sent:
            break
        await asyncio.sleep(0.02)
    assert any("/help" in (s.text or "") for s in flow.sent)
