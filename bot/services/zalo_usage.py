"""How many messages a Zalo bot sent this calendar month (its plan allows `ZALO_MONTHLY_QUOTA`,
3,000 on Basic; Zalo answers 429 "Quota exceeded" beyond). One row per (bot, month) in
`zalo_usage`, counted with one UPSERT per message sent by the Zalo front or the outbox's Zalo
sender. The first count that reaches 80% of the plan flips `warned` (one conditional UPDATE, so
two processes cannot both warn) and queues one notice to the heads of each bloc with members on
Zalo. The status summary shows the month's count in the reader's locale."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.clock import Clock
from bot.i18n import use_locale
from bot.services import reminders
from storage.db import Database, is_sqlite, rowcount, write
from storage.models import Bloc, Person, Representative, ZaloUsage

WARN_AT = 0.8


def month_of(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


async def count_sent(db: Database, clock: Clock, bot_id: str, quota: int, timezone: str, n: int = 1) -> bool:
    """Count `n` messages sent; True when this count crossed the warning line (warn the heads)."""
    now = clock.now()
    month = month_of(now, timezone)
    async with db.session() as session, write(session):
        insert = sqlite_insert if is_sqlite(session) else pg_insert
        table = ZaloUsage.__table__  # type: ignore[attr-defined]
        stmt = insert(table).values(bot_id=bot_id, month=month, sent=n, quota=quota, warned=False, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["bot_id", "month"],
                                          set_={"sent": table.c.sent + n, "quota": quota, "updated_at": now})
        await session.execute(stmt)
        flipped = await session.execute(update(table).where(
            table.c.bot_id == bot_id, table.c.month == month, table.c.warned == False,  # noqa: E712
            table.c.sent >= int(quota * WARN_AT)).values(warned=True))
        return rowcount(flipped) == 1


async def zalo_blocs(session: AsyncSession) -> list[Bloc]:
    """Active blocs with a representative (or a founder) on Zalo."""
    on_zalo = exists().where(col(Representative.bloc_id) == col(Bloc.id),
                             col(Representative.revoked_at) == None,  # noqa: E711
                             col(Representative.person_id) == col(Person.id), col(Person.channel) == "zalo")
    founder_on_zalo = exists().where(col(Person.id) == col(Bloc.founder_person_id), col(Person.channel) == "zalo")
    rows = await session.execute(select(Bloc).where(col(Bloc.is_active) == True,  # noqa: E712
                                                    or_(on_zalo, founder_on_zalo)))
    return list(rows.scalars())


async def warn_heads(db: Database, clock: Clock, bot_id: str, quota: int, timezone: str, render) -> int:
    """Queue the 80% notice (`render(sent, quota)` -> Reply, in each head's language) once per head."""
    now = clock.now()
    month = month_of(now, timezone)
    async with db.session() as session:
        sent = (await session.execute(select(col(ZaloUsage.sent)).where(
            col(ZaloUsage.bot_id) == bot_id, col(ZaloUsage.month) == month))).scalar() or 0
        rows = []
        for bloc in await zalo_blocs(session):
            from bot.services.invites import managers

            for person in await managers(session, bloc):
                with use_locale(reminders.person_locale(person, bloc)):
                    reply = render(sent, quota)
                rows.append(reminders.notice_row(f"zalo-quota:{bot_id}:{month}:p{person.id}", person.external_id,
                                                 person.id, reply, now, bloc_id=bloc.id))
        async with write(session):
            return await reminders.insert_rows(session, rows)


async def this_month(session: AsyncSession, clock: Clock, timezone: str) -> ZaloUsage | None:
    """This month's count of the bot that sent last (one Zalo bot per deployment)."""
    month = month_of(clock.now(), timezone)
    return (await session.execute(select(ZaloUsage).where(col(ZaloUsage.month) == month)
                                  .order_by(col(ZaloUsage.updated_at).desc()).limit(1))).scalars().first()


async def bloc_on_zalo(session: AsyncSession, bloc: Bloc) -> bool:
    return any(b.id == bloc.id for b in await zalo_blocs(session))
