"""Our Zalo client against the fake Zalo API over real HTTP, and against odd answers; the token
never shows up in a log line or an exception."""

from __future__ import annotations

import json
import logging
import socket
import traceback

import httpx
import pytest

from bot.channels.zalo.client import (
    BadRequest,
    Forbidden,
    NetworkError,
    QuotaExceeded,
    RetryLater,
    ServerError,
    Unauthorized,
    ZaloClient,
    redact,
)
from bot.fakeapi.zalo import FakeZalo

SECRET = "s3cr3tPart-XYZ_987"
TOKEN = f"4242424242:{SECRET}"


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.05) as fake:
        yield fake


@pytest.fixture
async def client(zalo):
    async with ZaloClient(TOKEN, zalo.base_url) as c:
        yield c


def mock_client(handler, base="https://zalo.test") -> ZaloClient:
    return ZaloClient(TOKEN, base, transport=httpx.MockTransport(handler))


async def test_get_me_and_updates(zalo, client):
    me = await client.get_me()
    assert me["id"] == "4242424242" and client.bot_id == "4242424242"
    assert await client.get_updates(timeout=1) == []
    user = zalo.add_user("Trần Thị Bình")
    sent = await zalo.send_text(user, "Xin chào")
    [update] = await client.get_updates(timeout=1)
    assert update.kind == "text" and update.text == "Xin chào"
    assert update.message_id == sent["message"]["message_id"] and update.user_id == user["id"]
    assert update.display_name == "Trần Thị Bình" and update.chat_id == user["id"] and update.is_private
    assert update.date is not None and update.date.tzinfo is not None


async def test_send_methods_and_refusals(zalo, client):
    user = zalo.add_user("An")
    with pytest.raises(Forbidden):  # Zalo bots cannot write first
        await client.send_message(user["id"], "chào")
    await zalo.send_text(user, "hi")
    result = await client.send_message(user["id"], "chào")
    assert result["message_id"] and zalo.texts_to(user["id"]) == ["chào"]
    with pytest.raises(BadRequest) as err:
        await client.send_message(user["id"], "x" * 2001)
    assert err.value.code == 400 and "2000" in err.value.description
    with pytest.raises(BadRequest):
        await client.send_photo(user["id"], "/tmp/chart.png")
    await client.send_photo(user["id"], "https://thidua.example/chart.png", caption="Kết quả")
    assert zalo.sent[user["id"]][-1]["photo"] == "https://thidua.example/chart.png"
    await client.send_chat_action(user["id"])


async def test_quota_exceeded_carries_a_retry_delay(zalo, client):
    user = zalo.add_user("An")
    await zalo.send_text(user, "hi")
    zalo.set_quota(0)
    with pytest.raises(QuotaExceeded) as err:
        await client.send_message(user["id"], "chào")
    assert isinstance(err.value, RetryLater) and err.value.code == 429 and err.value.retry_after > 0
    assert zalo.texts_to(user["id"]) == []


async def test_webhook_methods(zalo, client):
    assert await client.get_webhook_info() is None
    with pytest.raises(ValueError):
        await client.set_webhook("https://thidua.example/zalo", "short")
    await client.set_webhook("https://thidua.example/zalo", "a-long-enough-secret")
    assert (await client.get_webhook_info())["url"] == "https://thidua.example/zalo"
    await client.delete_webhook()
    assert await client.get_webhook_info() is None


async def test_unwrapped_answers_are_accepted():
    async with FakeZalo(token=TOKEN, poll_timeout=0.05, wrap=False) as zalo:
        async with ZaloClient(TOKEN, zalo.base_url) as client:
            assert (await client.get_me())["id"] == "4242424242"
            user = zalo.add_user("An")
            await zalo.send_photo(user, "https://photo.example/a.jpg", caption="minh chứng")
            [update] = await client.get_updates(timeout=1)
            assert update.kind == "image" and update.photo_url == "https://photo.example/a.jpg"
            assert update.caption == "minh chứng"
            assert await client.get_updates(timeout=1) == []


async def test_odd_answers():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "getMe":
            return httpx.Response(200, json={"id": "1", "account_name": "bot.x"})  # unwrapped
        if method == "getUpdates":
            body = json.loads(request.content)
            if body["timeout"] == "1":
                return httpx.Response(200, json={"ok": False, "error_code": 408, "description": "Request timeout"})
            return httpx.Response(200, json={"ok": True, "result": [
                {"event_name": "message.text.received", "message": {"message_id": "a1", "text": "1"}},
                {"event_name": "message.sticker.received", "message": {"message_id": "a2"}}]})
        if method == "sendMessage":
            return httpx.Response(429, headers={"Retry-After": "120"}, json={"ok": False, "description": "Too many"})
        if method == "sendPhoto":
            return httpx.Response(429, json={"ok": False, "error_code": 429, "description": "Quota exceeded"})
        if method == "sendChatAction":
            return httpx.Response(502, text="<html>Bad gateway</html>")
        return httpx.Response(200, json={"ok": False, "error_code": 401, "description": "Unauthorized"})

    async with mock_client(handler, "https://proxy.test/zalo/") as client:
        assert (await client.get_me())["account_name"] == "bot.x"
        assert await client.get_updates(timeout=1) == []
        updates = await client.get_updates(timeout=2)
        assert [(u.message_id, u.kind) for u in updates] == [("a1", "text"), ("a2", "sticker")]
        with pytest.raises(RetryLater) as rate:
            await client.send_message("u", "x")
        assert not isinstance(rate.value, QuotaExceeded) and rate.value.retry_after == 120
        with pytest.raises(QuotaExceeded) as quota:
            await client.send_photo("u", "https://a/b.png")
        assert quota.value.retry_after == 3600
        with pytest.raises(ServerError) as bad_gateway:
            await client.send_chat_action("u")
        assert bad_gateway.value.code == 502
        with pytest.raises(Unauthorized):  # 200 with ok: false and a code is still a refusal
            await client.delete_webhook()
    # the token reaches the wire (in the path, after the base path) and nothing else does
    assert seen[0] == f"/zalo/bot{TOKEN}/getMe"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_token_never_in_logs_or_errors(zalo, caplog):
    wrong = "4242424242:wrong-secret-QQQ"
    for name in ("", "httpx", "httpcore", "bot", "bot.channels.zalo.client", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []
    user = zalo.add_user("An")
    await zalo.send_text(user, "hi")
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        await client.get_me()
        await client.get_updates(timeout=1)
        await client.get_updates(timeout=1)  # 408
        await client.send_message(user["id"], "chào")
        zalo.set_quota(0)
        for call in (lambda: client.send_message(user["id"], "x" * 2001), lambda: client.send_message(user["id"], "y"),
                     lambda: client.send_message("nobody", "z")):
            with pytest.raises(Exception) as info:
                await call()
            errors.append(info.value)
    async with ZaloClient(wrong, zalo.base_url) as bad:
        with pytest.raises(Unauthorized) as info:
            await bad.get_me()
        errors.append(info.value)
    async with ZaloClient(TOKEN, f"http://127.0.0.1:{_closed_port()}") as offline:
        with pytest.raises(NetworkError) as info:
            await offline.get_me()
        errors.append(info.value)
    assert len(errors) == 5
    records = caplog.records
    # the capture really saw the HTTP libraries at DEBUG, with the (redacted) request URLs
    assert any(r.name.startswith("httpcore") for r in records)
    assert any(r.name == "httpx" and "<redacted>" in r.getMessage().replace("%3C", "<").replace("%3E", ">")
               for r in records)
    texts = [caplog.text] + [r.getMessage() for r in records]
    for err in errors:
        texts += [str(err), repr(err), "".join(traceback.format_exception(err)), repr(err.args)]
    for text in texts:
        for secret in (SECRET, "wrong-secret-QQQ"):
            assert secret not in text


def test_redact():
    assert SECRET not in redact(f"https://h/bot{TOKEN}/getMe", TOKEN)
    assert redact("POST https://h/bot1:zz/getMe", None) == "POST https://h/bot<redacted>/getMe"
    assert repr(ZaloClient(TOKEN)).count(SECRET) == 0
