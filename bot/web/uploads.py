"""`GET/POST /u/<token>`: the one-time upload page for an evidence file, for people on a channel
that cannot send files (Zalo). Mounted beside the download links (bot/web/files.py).

The file goes through the same checks and the same service call as a Telegram document
(bot/services/uploads.accept -> assessments.add_evidence); the link is spent in that transaction.
Then the chat says so (`deliver(person, reply)`, the text front's push) and the form goes on.
An expired, used or forged link gets a clear page and nothing is stored. The token is never logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import BodyPartReader, web

from bot.clock import Clock
from bot.config import Settings
from bot.conversations.assessment_form import after_upload
from bot.i18n import _, normalize_locale, use_locale
from bot.services import uploads
from bot.services.assessments import EVIDENCE_TYPES
from bot.services.errors import UserError
from bot.views import assessments as views
from bot.views.base import Reply, esc
from storage.db import Database
from storage.models import Person

log = logging.getLogger(__name__)
Deliver = Callable[[Person, Reply], Awaitable[bool]]
CHUNK = 64 * 1024


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;max-width:32em;margin:2em auto;"
            "padding:0 1em;line-height:1.5}}button{{font-size:1.1em;padding:.4em 1.2em}}</style></head>"
            f"<body><h1>{esc(title)}</h1>{body}</body></html>")
    return web.Response(text=html, status=status, content_type="text/html", headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def _gone() -> web.Response:
    return _page(_("Upload link not valid"), f"<p>{esc(uploads.link_gone().message)}</p>", status=404)


def _form(max_mb: int, error: str | None = None, status: int = 200) -> web.Response:
    accept = ",".join(EVIDENCE_TYPES)
    body = f"<p style='color:#b00'>{esc(error)}</p>" if error else ""
    choose = _("Choose one evidence file (PDF, DOCX, XLSX, JPG or PNG, at most {mb} MB).").format(mb=max_mb)
    send = _("Send the file")
    body += (f"<p>{esc(choose)}</p><form method='post' enctype='multipart/form-data'>"
             f"<p><input type='file' name='file' accept='{accept}' required></p>"
             f"<p><button type='submit'>{esc(send)}</button></p></form>")
    return _page(_("Upload an evidence file"), body, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, db: Database, clock: Clock, settings: Settings, channel: str,
               deliver: Deliver) -> None:
    show, receive = handlers(db, clock, settings, channel, deliver)
    app.router.add_get("/u/{token}", show)
    app.router.add_post("/u/{token}", receive)


def handlers(db: Database, clock: Clock, settings: Settings, channel: str, deliver: Deliver) -> tuple[Handler, Handler]:
    """(GET, POST) handlers of the page, for a web app whose routes are fixed before the bot exists."""
    max_mb = settings.max_upload_mb

    async def locale_of(token: str) -> str | None:
        async with db.session() as session:
            found = await uploads.ticket(session, clock, token)
            if found is None:
                return None
            person = await session.get(Person, found.person_id)
        return normalize_locale((person.locale if person else None) or settings.default_locale)

    async def show(request: web.Request) -> web.Response:
        locale = await locale_of(request.match_info["token"])
        with use_locale(locale or settings.default_locale):
            return _gone() if locale is None else _form(max_mb)

    async def receive(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        locale = await locale_of(token)
        with use_locale(locale or settings.default_locale):
            if locale is None:
                return _gone()
            limit = max_mb * 1024 * 1024
            if request.content_length is not None and request.content_length > limit + CHUNK:
                return _form(max_mb, _("The file is too large (at most {mb} MB).").format(mb=max_mb), status=413)
            try:
                name, content = await _read_file(request, limit)
            except UserError as err:
                return _form(max_mb, err.message, status=400)
            async with db.session() as session:
                try:
                    accepted = await uploads.accept(session, clock, token, name, content, max_mb)
                except uploads.LinkGone:
                    return _gone()
                except UserError as err:  # the same refusal a Telegram document gets; the link stays usable
                    return _form(max_mb, err.message, status=400)
                reply = await after_upload(session, clock, settings, channel, accepted)
                person = accepted.person
            try:
                await deliver(person, reply)
            except Exception:  # the file is in; the chat is told next time
                log.exception("upload accepted but the chat could not be told")
            return _page(_("File received"), f"<p>{views.evidence_uploaded(name)}</p>")

    return show, receive


async def _read_file(request: web.Request, limit: int) -> tuple[str, bytes]:
    """The form's one file, read in chunks and refused past `limit` bytes."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise UserError(_("Choose a file, then press Send.")) from None
    while True:
        part = await reader.next()
        if part is None:
            raise UserError(_("Choose a file, then press Send."))
        if isinstance(part, BodyPartReader) and part.name == "file" and part.filename:
            break
    chunks, size = [], 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        if size > limit:
            raise UserError(_("The file is too large (at most {mb} MB).").format(mb=limit // (1024 * 1024)))
        chunks.append(chunk)
    return part.filename or "file", b"".join(chunks)
