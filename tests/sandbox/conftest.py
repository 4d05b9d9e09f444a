"""The sandbox in-process (page + fake Bot API + the real bot on a SQLite file under tmp_path), and a
small client that uses the page's HTTP API exactly as the browser page does."""

from __future__ import annotations

import aiohttp
import pytest

from bot.sandbox.server import Sandbox


class Page:
    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox, self.http, self.url = sandbox, http, sandbox.url.rstrip("/")

    async def get(self, path: str) -> tuple[int, dict]:
        async with self.http.get(self.url + path) as r:
            return r.status, await r.json()

    async def post(self, path: str, body, settle: bool = True) -> tuple[int, dict]:
        kwargs = {"data": body} if isinstance(body, (aiohttp.FormData, bytes, str)) else {"json": body}
        async with self.http.post(self.url + path, **kwargs) as r:
            result = r.status, await r.json()
        if settle:
            await self.sandbox.settle(30)
        return result

    async def state(self) -> dict:
        return (await self.get("/api/state"))[1]

    async def messages(self, persona: str, chat: int) -> list[dict]:
        status, data = await self.get(f"/api/messages?persona={persona}&chat={chat}")
        assert status == 200, data
        return data["messages"]

    async def bot_html(self, persona: str, chat: int) -> list[str]:
        return [m["html"] for m in await self.messages(persona, chat) if m["from"]["is_bot"]]

    async def send(self, persona: str, chat: int, text: str) -> tuple[int, dict]:
        return await self.post("/api/send", {"persona": persona, "chat": chat, "text": text})

    async def click(self, persona: str, chat: int, message: dict, label_part: str) -> tuple[int, dict]:
        data = [b["data"] for row in message["buttons"] for b in row if label_part in b["text"] and b["data"]]
        assert data, f"no button {label_part!r} in {[[b['text'] for b in r] for r in message['buttons']]}"
        return await self.post("/api/click", {"persona": persona, "chat": chat, "message_id": message["id"],
                                              "data": data[0]})

    async def last_bot(self, persona: str, chat: int, contains: str) -> dict:
        for m in reversed(await self.messages(persona, chat)):
            if m["from"]["is_bot"] and contains in m["html"]:
                return m
        raise AssertionError(f"no bot message with {contains!r} in chat {chat}")


async def start_sandbox(data_dir, demo: bool, clock=None) -> Sandbox:
    sandbox = Sandbox(data_dir, demo=demo, clock=clock)
    await sandbox.start_web(port=0)
    await sandbox.start_chats()
    await sandbox.start_bot()
    assert sandbox.status == "ready", sandbox.status
    return sandbox


@pytest.fixture
async def page(tmp_path, clock):
    sandbox = await start_sandbox(tmp_path / "sandbox", demo=True, clock=clock)
    async with aiohttp.ClientSession() as http:
        yield Page(sandbox, http)
    await sandbox.stop()
