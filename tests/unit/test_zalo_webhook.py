"""The Zalo webhook endpoint over real HTTP: constant-time secret check, 401 and nothing
processed on a wrong or missing secret, bare and wrapped bodies, fast 200."""

from __future__ import annotations

import asyncio
import hmac

import pytest
from aiohttp import web

from bot.channels.zalo import webhook as webhook_module
from bot.channels.zalo.webhook import make_webhook_handler
from bot.fakeapi.zalo import FakeZalo

SECRET = "webhook-secret-1234"
UPDATE = {"event_name": "message.text.received",
          "message": {"message_id": "w1", "date": 1764700000000, "text": "hop",
                      "from": {"id": "abc123", "display_name": "An"}, "chat": {"id": "abc123", "chat_type": "PRIVATE"}}}


@pytest.fixture
async def endpoint():
    received = []

    async def on_update(update):
        received.append(update)

    hook = make_webhook_handler(SECRET, on_update)
    app = web.Application()
    app.router.add_post("/zalo/webhook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo/webhook"
    yield url, hook, received
    await runner.cleanup()


@pytest.mark.parametrize("wrapped", [False, True])
async def test_right_secret_either_body_shape(endpoint, wrapped):
    url, hook, received = endpoint
    status, _ = await FakeZalo.post_webhook(url, UPDATE, SECRET, wrapped=wrapped)
    await hook.drain()
    assert status == 200
    assert [(u.message_id, u.text, u.user_id) for u in received] == [("w1", "hop", "abc123")]


@pytest.mark.parametrize("secret", ["wrong-secret-1234", None, "", SECRET + "x", SECRET[:-1]])
async def test_wrong_or_missing_secret_is_401_and_nothing_processed(endpoint, secret):
    url, hook, received = endpoint
    status, _ = await FakeZalo.post_webhook(url, UPDATE, secret)
    await hook.drain()
    assert status == 401 and received == [] and hook.rejected == 1


async def test_bad_body_with_right_secret_is_400(endpoint):
    url, hook, received = endpoint
    status, _ = await FakeZalo.post_webhook(url, None, SECRET, raw=b"{not json")
    assert status == 400 and received == []
    status, _ = await FakeZalo.post_webhook(url, {"hello": 1}, SECRET)  # JSON but no update
    await hook.drain()
    assert status == 200 and received == []


async def test_secret_compared_in_constant_time(endpoint, monkeypatch):
    url, hook, received = endpoint
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(webhook_module.hmac, "compare_digest", spy)
    assert (await FakeZalo.post_webhook(url, UPDATE, "nope-nope-nope"))[0] == 401
    assert (await FakeZalo.post_webhook(url, UPDATE, SECRET))[0] == 200
    assert calls == [(bytes, bytes), (bytes, bytes)]


async def test_answers_before_the_callback_finishes():
    release = asyncio.Event()
    done = []

    async def slow(update):
        await release.wait()
        done.append(update.message_id)

    hook = make_webhook_handler(SECRET, slow)
    app = web.Application()
    app.router.add_post("/h", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/h"
        status, _ = await FakeZalo.post_webhook(url, UPDATE, SECRET)
        assert status == 200 and done == []  # answered while the handler still waits
        release.set()
        await hook.drain()
        assert done == ["w1"]
    finally:
        await runner.cleanup()


async def test_fake_zalo_delivers_to_the_webhook(endpoint):
    url, hook, received = endpoint
    async with FakeZalo(token="77:x") as zalo:
        zalo.webhook = None
        from bot.channels.zalo.client import ZaloClient

        async with ZaloClient("77:x", zalo.base_url) as client:
            await client.set_webhook(url, SECRET)
        user = zalo.add_user("Bình")
        await zalo.send_text(user, "tudanhgia")
        await zalo.send_document(user)
        await hook.drain()
    assert zalo.webhook_results == [200, 200]
    assert [(u.kind, u.text) for u in received] == [("text", "tudanhgia"), ("unsupported", None)]


def test_secret_must_be_valid_and_is_not_in_repr():
    with pytest.raises(ValueError):
        make_webhook_handler("short", lambda u: None)
    assert SECRET not in repr(make_webhook_handler(SECRET, lambda u: None))
