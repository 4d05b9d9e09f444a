"""The Zalo front: Zalo updates in, the conversation table run as plain text, answers out.

    front = ZaloFront(client, table, db, clock, settings)
    poller = ZaloPoller(client, front.handle, db)   # de-duplicates; or ZaloWebhook(only_first(...))

Zalo has private chats only, no buttons, no edits and no files: replies are rendered by
bot/channels/textual.py (numbered choices, typed words, parts of at most 2,000 characters) and
a person answers with a number or a word (bot/channels/textfront.py). A Zalo user id (hex string)
gets a number of ours in `zalo_user`; the person is `Person(channel="zalo", external_id=that)`.
No aiogram here.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.channels.base import Rejected, RetryLater, SentRef, Transient, Unreachable
from bot.channels.textfront import TextFront
from bot.channels.textual import TEXT_LIMIT, render_textual
from bot.channels.textual import plain as to_plain
from bot.channels.zalo.client import BadRequest, Forbidden, NotFound, QuotaExceeded, ZaloClient, ZaloError
from bot.channels.zalo.client import RetryLater as ZaloRetryLater
from bot.channels.zalo.updates import ZaloUpdate
from bot.clock import Clock
from bot.config import Settings
from bot.conversations.core import Table
from bot.i18n import _, use_locale
from bot.services import reminders, zalo_usage
from bot.services.ballot_box import KeyVault
from bot.views import core as core_views
from bot.views.base import Reply
from storage.db import Database, abort, begin_write, write
from storage.models import Person, ZaloUser

log = logging.getLogger(__name__)
CHANNEL = "zalo"


class ZaloFront:
    def __init__(self, client: ZaloClient, table: Table, db: Database, clock: Clock, settings: Settings,
                 vault: KeyVault | None = None) -> None:
        self.client, self.db, self.settings = client, db, settings
        self.text = TextFront(table, db, clock, settings, vault or KeyVault(), channel=CHANNEL, send=self.send,
                              send_photo=self.send_photo)
        self._numbers: dict[str, int] = {}
        self._zalo_ids: dict[int, str] = {}

    async def handle(self, update: ZaloUpdate) -> None:
        """One update (already de-duplicated by the caller: dedup.only_first)."""
        if update.user_id is None:
            return
        number = await self.number_of(update.user_id)
        if update.kind != "text" or not (update.text or "").strip():
            with use_locale(self.settings.default_locale):
                await self.send(number, [_("I can read only text messages here. Send /help to see what you can do.")])
            return
        await self.text.say(number, update.display_name or "", update.text or "")

    async def send(self, number: int | str, parts: list[str]) -> bool:
        """Send the parts in order to a person; False when Zalo will not deliver (never wrote to the
        bot, blocked): the caller reports it like a Telegram 403."""
        zalo_id = await self.zalo_id_of(int(number))
        if zalo_id is None:
            return False
        sent = 0
        try:
            for part in parts:
                await self.client.send_message(zalo_id, part[:TEXT_LIMIT])
                sent += 1
        except (Forbidden, BadRequest) as err:
            log.info("zalo message not delivered: %s", type(err).__name__)
            return False
        except ZaloRetryLater as err:  # quota or flood: the rest waits in the outbox, sent once later
            await self.queue_later(int(number), parts[sent:], err.retry_after)
            return True
        except ZaloError as err:  # network: the person's next message gets a fresh answer
            log.warning("zalo send failed: %s", type(err).__name__)
            return False
        finally:
            await self.count(sent)
        return True

    async def count(self, sent: int) -> None:
        """Count messages Zalo accepted against the month's plan; at 80% the heads are warned once."""
        if not sent:
            return
        quota, zone = self.settings.zalo_monthly_quota, self.settings.timezone
        clock = self.text.clock
        if await zalo_usage.count_sent(self.db, clock, self.client.bot_id, quota, zone, sent):
            queued = await zalo_usage.warn_heads(self.db, clock, self.client.bot_id, quota, zone,
                                                 core_views.zalo_quota_warning)
            log.warning("zalo: 80%% of the monthly quota used; %d head(s) told", queued)
            if queued:
                self.text.kick()

    async def queue_later(self, number: int, parts: list[str], retry_after: float) -> None:
        """A reply Zalo would not take now (429) becomes an outbox row, due after `retry_after`."""
        if not parts:
            return
        clock = self.text.clock
        now = clock.now()
        async with self.db.session() as session:
            person = (await session.execute(select(Person).where(
                col(Person.channel) == CHANNEL, col(Person.external_id) == number))).scalars().first()
            rows = [reminders.notice_row(f"zalo-later:{number}:{secrets.token_hex(8)}", number,
                                         person.id if person else None, Reply("\n".join(parts)), now,
                                         due_at=now + timedelta(seconds=retry_after))]
            async with write(session):
                await reminders.insert_rows(session, rows)
        log.info("zalo reply held for %ss (429)", retry_after)

    async def send_photo(self, number: int | str, url: str, caption: str | None = None) -> bool:
        """sendPhoto by a public URL (Zalo fetches it: the result chart's signed link)."""
        zalo_id = await self.zalo_id_of(int(number))
        if zalo_id is None:
            return False
        try:
            await self.client.send_photo(zalo_id, url, caption)
        except ZaloError as err:
            log.info("zalo photo not delivered: %s", type(err).__name__)
            return False
        await self.count(1)
        return True

    async def number_of(self, zalo_id: str) -> int:
        if zalo_id in self._numbers:
            return self._numbers[zalo_id]
        async with self.db.session() as session:
            found = (await session.execute(select(col(ZaloUser.id)).where(col(ZaloUser.zalo_id) == zalo_id))).scalar()
            if found is None:
                await begin_write(session)  # SQLite: take the write lock before writing (no busy upgrade)
                session.add(ZaloUser(zalo_id=zalo_id))
                try:
                    await session.commit()
                except IntegrityError:  # another update of the same new person got there first
                    await abort(session)
                found = (await session.execute(
                    select(col(ZaloUser.id)).where(col(ZaloUser.zalo_id) == zalo_id))).scalar_one()
        self._numbers[zalo_id], self._zalo_ids[found] = found, zalo_id
        return found

    async def zalo_id_of(self, number: int) -> str | None:
        if number in self._zalo_ids:
            return self._zalo_ids[number]
        async with self.db.session() as session:
            zalo_id = (await session.execute(select(col(ZaloUser.zalo_id)).where(col(ZaloUser.id) == number))).scalar()
        if zalo_id is not None:
            self._zalo_ids[number] = zalo_id
        return zalo_id


class ZaloSender:
    """The outbox's sender for people on Zalo (bot/channels/base.ChannelSender): the reply rendered
    as plain text (numbered choices are sent, though an answer to them is read only while the
    person's last reply is remembered), Zalo's refusals translated for the outbox: 429 and quota ->
    RetryLater (never dropped), 403 -> Unreachable (never wrote to the bot, blocked)."""

    def __init__(self, front: ZaloFront) -> None:
        self.front = front
        self._done: dict[tuple[int | str, str], int] = {}  # a long reply cut by a 429: parts already sent

    async def send(self, chat_id: int | str, reply: Reply, *, plain: bool = False) -> SentRef:
        zalo_id = await self.front.zalo_id_of(int(chat_id))
        if zalo_id is None:
            raise Unreachable("no such Zalo user")
        pending = self.front.text.pending
        parts = (pending.remember_reply(CHANNEL, str(chat_id), reply, pushed=True) if pending is not None
                 else render_textual(reply)[0])
        message_id: int | str = 0
        count = 0
        try:
            for part in parts[self._done.pop((chat_id, parts[0] if parts else ""), 0):]:
                sent = await self.front.client.send_message(zalo_id, part[:TEXT_LIMIT])
                count += 1
                message_id = (sent or {}).get("message_id", message_id) if isinstance(sent, dict) else message_id
        except ZaloRetryLater as err:
            if count:  # the parts already sent are not sent again when the row comes back
                self._done[(chat_id, parts[0])] = count
            quota = isinstance(err, QuotaExceeded)  # the bot's month, not this chat: hold only the row
            raise RetryLater(err.retry_after, type(err).__name__, per_chat=not quota) from None
        except Forbidden:
            raise Unreachable("Zalo refused: the person never wrote to the bot or blocked it") from None
        except (BadRequest, NotFound) as err:
            raise Rejected(type(err).__name__) from None
        except ZaloError as err:
            raise Transient(type(err).__name__) from None
        finally:
            await self.front.count(count)
        for photo in reply.attachments:  # the chart, by its signed URL; a photo lost is not a message lost
            if photo.kind == "photo" and photo.ref:
                await self.front.send_photo(chat_id, photo.ref, to_plain(photo.caption) if photo.caption else None)
        return SentRef(chat_id, message_id)
