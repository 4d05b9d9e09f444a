"""`GET /f/<token>/<name>`: the file behind a signed link while it is alive, else 404.

Mounted on the bot's aiohttp app (the webhook server, or a small one of its own when polling)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from bot.clock import Clock
from bot.services import files
from storage.db import Database

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, db: Database, clock: Clock) -> None:
    download = download_handler(db, clock)
    app.router.add_get("/f/{token}/{name}", download)
    app.router.add_get("/f/{token}", download)


def download_handler(db: Database, clock: Clock) -> Handler:
    """The handler alone, for a web app whose routes are fixed before the bot exists (the sandbox)."""

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

    return download
