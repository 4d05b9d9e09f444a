"""`GET /f/<token>/<name>`: the file behind a signed link while it is alive, else 404.

Mounted on the bot's aiohttp app (the webhook server, or a small one of its own when polling)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.clock import Clock
from bot.services import files
from storage.db import Database


def add_routes(app: web.Application, db: Database, clock: Clock) -> None:
    async def download(request: web.Request) -> web.Response:
        async with db.session() as session:
            found = await files.fetch(session, clock, request.match_info["token"])
        if found is None:
            raise web.HTTPNotFound(text="This link has expired or does not exist.")
        return web.Response(body=found.content, content_type=found.media_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        })

    app.router.add_get("/f/{token}/{name}", download)
    app.router.add_get("/f/{token}", download)
