"""The fake Zalo Bot API answers and refuses like Zalo, seen over plain HTTP."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from bot.fakeapi.zalo import FakeZalo

TOKEN = "9876543210:fake-secret-abc"


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.05, monthly_quota=5) as fake:
        yield fake


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def url(zalo: FakeZalo, method: str, token: str = TOKEN) -> str:
    return f"{zalo.base_url}/bot{token}/{method}"


async def test_wrong_token_is_401(zalo, http):
    r = await http.post(url(zalo, "getMe", "9876543210:wrong"), json={})
    assert r.status_code == 401 and r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    ok = await http.post(url(zalo, "getMe"), json={})
    assert ok.status_code == 200 and ok.json()["ok"] is True and ok.json()["result"]["id"] == "9876543210"


async def test_idle_poll_is_408_and_one_update_per_poll(zalo, http):
    idle = await http.post(url(zalo, "getUpdates"), json={"timeout": "30"})
    assert idle.status_code == 408 and idle.json()["error_code"] == 408
    user = zalo.add_user("Nguyễn Văn An")
    first = await zalo.send_text(user, "xin chào")
    second = await zalo.send_text(user, "phieu")
    got1 = (await http.post(url(zalo, "getUpdates"), json={"timeout": "30"})).json()["result"]
    got2 = (await http.post(url(zalo, "getUpdates"), json={"timeout": "30"})).json()["result"]
    assert isinstance(got1, dict) and got1["message"]["message_id"] == first["message"]["message_id"]
    assert got2["message"]["text"] == "phieu" and got2["message"]["message_id"] == second["message"]["message_id"]
    assert got1["event_name"] == "message.text.received"
    assert got1["message"]["from"] == {"id": user["id"], "display_name": "Nguyễn Văn An", "is_bot": False}
    assert (await http.post(url(zalo, "getUpdates"), json={"timeout": "30"})).status_code == 408


async def test_long_poll_wakes_up_when_a_message_arrives(http):
    async with FakeZalo(token=TOKEN, poll_timeout=10) as zalo:
        import asyncio

        user = zalo.add_user("An")
        poll = asyncio.create_task(http.post(url(zalo, "getUpdates"), json={"timeout": "30"}))
        await asyncio.sleep(0.05)
        assert not poll.done()
        await zalo.send_text(user, "hello")
        r = await asyncio.wait_for(poll, 5)
        assert r.status_code == 200 and r.json()["result"]["message"]["text"] == "hello"


async def test_replay_serves_a_delivered_update_again(zalo, http):
    user = zalo.add_user("An")
    sent = await zalo.send_text(user, "1")
    a = (await http.post(url(zalo, "getUpdates"), json={})).json()["result"]
    with pytest.raises(LookupError):
        await FakeZalo().replay()
    await zalo.replay()
    b = (await http.post(url(zalo, "getUpdates"), json={})).json()["result"]
    assert a == b and b["message"]["message_id"] == sent["message"]["message_id"]


async def test_cannot_write_first_then_can(zalo, http):
    user = zalo.add_user("An")
    r = await http.post(url(zalo, "sendMessage"), json={"chat_id": user["id"], "text": "chào"})
    assert r.status_code == 403
    r = await http.post(url(zalo, "sendMessage"), json={"chat_id": "ffff", "text": "chào"})
    assert r.status_code == 400
    await zalo.send_text(user, "hi")
    r = await http.post(url(zalo, "sendMessage"), json={"chat_id": user["id"], "text": "chào"})
    assert r.status_code == 200 and r.json()["result"]["message_id"]
    assert zalo.texts_to(user["id"]) == ["chào"]


async def test_text_limits_and_photo_must_be_a_url(zalo, http):
    user = zalo.add_user("An")
    await zalo.send_text(user, "hi")
    def send(**kw):
        return http.post(url(zalo, kw.pop("m", "sendMessage")), json={"chat_id": user["id"], **kw})

    assert (await send(text="x" * 2001)).status_code == 400
    assert (await send(text="")).status_code == 400
    assert (await send(text="   ")).status_code == 400
    assert (await send(text="x" * 2000)).status_code == 200
    assert (await send(m="sendPhoto", photo="chart.png")).status_code == 400
    assert (await send(m="sendPhoto", photo="data:image/png;base64,AAAA")).status_code == 400
    ok = await send(m="sendPhoto", photo="https://thidua.example/c/1.png", caption="Kết quả")
    assert ok.status_code == 200
    assert [m.get("photo") for m in zalo.sent[user["id"]]] == [None, "https://thidua.example/c/1.png"]
    assert (await send(m="sendChatAction", action="typing")).status_code == 200


async def test_quota_exceeded_past_the_monthly_plan(zalo, http):
    user = zalo.add_user("An")
    await zalo.send_text(user, "hi")
    zalo.set_quota(2)
    codes = [(await http.post(url(zalo, "sendMessage"), json={"chat_id": user["id"], "text": f"m{i}"})).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]
    assert zalo.errors[-1] == ("sendmessage", "Quota exceeded")
    assert zalo.texts_to(user["id"]) == ["m0", "m1"]
    zalo.new_month()
    r = await http.post(url(zalo, "sendMessage"), json={"chat_id": user["id"], "text": "m3"})
    assert r.status_code == 200


async def test_document_arrives_unsupported_without_content(zalo, http):
    user = zalo.add_user("An")
    await zalo.send_document(user)
    got = (await http.post(url(zalo, "getUpdates"), json={})).json()["result"]
    assert got["event_name"] == "message.unsupported.received"
    assert not {"text", "photo", "caption", "document", "file"} & set(got["message"])


async def test_unwrapped_answers(http):
    async with FakeZalo(token=TOKEN, wrap=False) as zalo:
        r = await http.post(url(zalo, "getMe"), json={})
        assert r.status_code == 200 and "ok" not in r.json() and r.json()["id"] == "9876543210"


async def test_webhook_mode(zalo, http):
    received: list[tuple[str | None, dict]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/zalo", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo"
    try:
        assert (await http.post(url(zalo, "getWebhookInfo"), json={})).status_code == 404
        bad = await http.post(url(zalo, "setWebhook"), json={"url": hook, "secret_token": "short"})
        assert bad.status_code == 400
        r = await http.post(url(zalo, "setWebhook"), json={"url": hook, "secret_token": "s3cret-s3cret"})
        assert r.status_code == 200
        assert (await http.post(url(zalo, "getWebhookInfo"), json={})).json()["result"]["url"] == hook
        assert (await http.post(url(zalo, "getUpdates"), json={})).status_code == 409
        user = zalo.add_user("An")
        await zalo.send_text(user, "qua webhook")
        assert received[-1][0] == "s3cret-s3cret" and received[-1][1]["message"]["text"] == "qua webhook"
        assert zalo.webhook_results == [200] and zalo.pending() == 0
        status, _ = await zalo.post_webhook(hook, {"event_name": "x"}, "other", wrapped=True)
        assert status == 200 and received[-1] == ("other", {"ok": True, "result": {"event_name": "x"}})
        await zalo.post_webhook(hook, {"event_name": "y"}, None)
        assert received[-1] == (None, {"event_name": "y"})
        await http.post(url(zalo, "deleteWebhook"), json={})
        assert (await http.post(url(zalo, "getUpdates"), json={})).status_code == 408
    finally:
        await runner.cleanup()
