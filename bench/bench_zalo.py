"""Zalo numbers (printed, never asserted):

1. typed reply -> answer latency through the fake Zalo Bot API over HTTP (our httpx client, the
   long poll, durable de-duplication, the conversation table as plain text, a SQLite file):
   "/help" (reads) and "1:8 2:4,5 3:1" (three scores written at once), p50/p99;
2. messages sent per Zalo member (each part of at most 2,000 characters and each photo is one
   send against the plan) for one secret vote (opened, ballot, confirmation, receipt, key,
   result with its chart) and for one meeting with its reminders (default 3d,1d,2h), run through
   the real conversations on the text front with 14 units; a post to the bloc (vote card, result,
   meeting card, group reminder) counts once per member, as a Zalo-only bloc fans it out;
3. from those, how many blocs of 14 units one Basic bot (3,000 messages a month) serves a year.

Run: .venv/bin/python bench/bench_zalo.py [N]
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from bot.channels.textfront import Said, TextFront  # noqa: E402
from bot.channels.zalo.client import ZaloClient  # noqa: E402
from bot.channels.zalo.front import ZaloFront  # noqa: E402
from bot.channels.zalo.poller import ZaloPoller  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.conversations import voting  # noqa: E402
from bot.conversations.core import Chat  # noqa: E402
from bot.conversations.meetings import conv as meetings_conv  # noqa: E402
from bot.conversations.table import build_table  # noqa: E402
from bot.fakeapi.zalo import FakeZalo  # noqa: E402
from bot.services import assessments, blocs, invites, people, reminders, scoring, units  # noqa: E402
from bot.services.blocs import Role  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Meeting, OutboxMessage, Person, Representative, Unit  # noqa: E402
from tests.support.textbloc import JobApp, number_of  # noqa: E402

TOKEN = "9090909090:bench-secret"
GROUP = -777
HEAD = 1
UNITS = 14
PLAN_PER_MONTH = 3000
VOTES_PER_YEAR = 4  # flag, certificates of merit, next year's head, deputy (DOMAIN.md: the year-end cycle)
MEETINGS_PER_YEAR = 3  # launch, mid-year review (sơ kết), year-end conference (tổng kết)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _database() -> Database:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    await upgrade(url)
    return Database(url)


# -- 1. latency over HTTP ---------------------------------------------------------------------------
async def latency(n: int) -> None:
    db = await _database()
    clock = FakeClock()
    settings = Settings(_env_file=None, bot_token="1:x", database_url="sqlite://", public_base_url="https://x.vn")
    table = build_table()
    text = TextFront(table, db, clock, settings, channel="text")
    async with db.session() as session:  # a bloc headed on the text channel, with a scoring table
        head = await people.touch_person(session, clock, HEAD, "Lan", None, "vi", channel="text", private=True)
        bloc = await blocs.setup_bloc(session, clock, GROUP, "Khối thi đua", head, "vi", "Asia/Ho_Chi_Minh",
                                      is_admin=True)
        await units.add_units(session, clock, bloc, [(f"TTYT {i}", None) for i in range(1, 3)], head.id)
        unit = (await units.list_units(session, bloc.id))[1]
        member = await blocs.member_of(session, bloc, head)
        rows = [scoring.CriterionRow("1.1", "A", "Kế hoạch", 10.0), scoring.CriterionRow("1.2", "A", "Báo cáo", 5.0),
                scoring.CriterionRow("T", "Thưởng", "Thành tích", 2.0, "bonus")]
        await assessments.load_table(session, clock, member, rows, "bang.csv")
        (link,) = await invites.issue_links(session, clock, bloc, [unit], 7, head.id)
    await text.say(HEAD, "Lan", "/assessment 30/11/2026 17:00", chat=Chat("text", GROUP, False))

    async with FakeZalo(token=TOKEN, poll_timeout=5.0) as zalo, ZaloClient(TOKEN, zalo.base_url) as client:
        front = ZaloFront(client, table, db, clock, settings)
        user = zalo.add_user("Chị Mai")
        number = await front.number_of(user["id"])
        async with db.session() as session:
            mai = await people.touch_person(session, clock, number, "Chị Mai", None, "vi", channel="zalo",
                                            private=True)
            await invites.join(session, clock, link.payload, mai)
            rnd = await assessments.open_round_of(session, bloc.id)
        poller = ZaloPoller(client, front.handle, db, poll_timeout=5, clock=clock)
        task = asyncio.create_task(poller.run())

        async def one(message: str) -> float:
            before = len(zalo.texts_to(user["id"]))
            start = time.perf_counter()
            await zalo.send_text(user, message)
            await zalo.wait_for(lambda: len(zalo.texts_to(user["id"])) > before, timeout=30, step=0.0005)
            return (time.perf_counter() - start) * 1000

        await one(f"tudanhgia {rnd.id}")
        for label, message in (("/help (reads)", "help"), ("1:8 2:4,5 3:1 (writes 3 scores)", "1:8 2:4,5 3:1")):
            for _ in range(5):
                await one(message)
            times = [await one(message) for _ in range(n)]
            print(f"  {label:34s} p50 {pct(times, 0.5):6.1f} ms   p99 {pct(times, 0.99):6.1f} ms   "
                  f"mean {statistics.mean(times):6.1f} ms  (n={n})")
        poller.stop()
        await zalo.release_pollers()
        await task
    await db.dispose()


# -- 2. messages per member -------------------------------------------------------------------------
class Count:
    """Sends per chat (text parts and photos), step by step."""

    def __init__(self, front: TextFront) -> None:
        self.front = front
        self.photos: Counter = Counter()
        self._seen = 0
        self._photos_seen: Counter = Counter()

        async def photo(chat_id, url, caption) -> bool:
            self.photos[chat_id] += 1
            return True

        front.send_photo = photo

    def step(self) -> Counter:
        """Sends per chat since the last step."""
        new = Counter(s.chat_id for s in self.front.said[self._seen:])
        self._seen = len(self.front.said)
        for chat, k in self.photos.items():
            new[chat] += k - self._photos_seen[chat]
        self._photos_seen = Counter(self.photos)
        return +new


async def _bloc(db, clock) -> tuple[TextFront, list[int]]:
    settings = Settings(_env_file=None, bot_token="1:x", database_url="sqlite://", public_base_url="https://x.vn")
    front = TextFront(build_table(), db, clock, settings)
    reps = [HEAD] + [100 + i for i in range(1, UNITS)]
    async with db.session() as session:
        head = await people.touch_person(session, clock, HEAD, "Lan", None, "vi", channel="text", private=True)
        bloc = await blocs.setup_bloc(session, clock, GROUP, "Khối thi đua các TTYT", head, "vi", "Asia/Ho_Chi_Minh",
                                      is_admin=True)
        await units.add_units(session, clock, bloc, [(f"Trung tâm Y tế số {i}", None) for i in range(1, UNITS + 1)],
                              head.id)
        unit_list = await units.list_units(session, bloc.id)
        links = await invites.issue_links(session, clock, bloc, unit_list, 14, head.id)
        await invites.join(session, clock, links[0].payload, head)
        await blocs.set_post(session, clock, bloc, Role.head, unit_list[0], head.id)
        for i, rep in enumerate(reps[1:], start=1):
            person = await people.touch_person(session, clock, rep, f"Đại diện {i}", None, "vi", channel="text",
                                               private=True)
            await invites.join(session, clock, links[i].payload, person)
    return front, reps


def _per_member(steps: list[tuple[str, Counter, bool]], members: list[int]) -> tuple[dict[int, int], list[str]]:
    """Sends per member: private sends, plus each post to the bloc once per member (fan-out)."""
    total = dict.fromkeys(members, 0)
    lines = []
    for label, counter, post in steps:
        group = counter.get(GROUP, 0)
        private = {m: counter.get(m, 0) for m in members}
        for m in members:
            total[m] += private[m] + (group if post else 0)
        rep = private[members[-1]] + (group if post else 0)
        head = private[members[0]] + (group if post else 0) + (0 if post else group)
        if not post:
            total[members[0]] += group  # the head's own dialog (a private chat on a Zalo-only bloc)
        lines.append(f"    {label:44s} head {head:3d}   a representative {rep:3d}")
    return total, lines


async def vote_messages() -> dict[int, int]:
    db = await _database()
    clock = FakeClock()
    front, reps = await _bloc(db, clock)
    count = Count(front)
    group = Chat("text", GROUP, False)
    steps: list[tuple[str, Counter, bool]] = []
    await front.say(HEAD, "Lan", "/vote co 2h", chat=group)
    opened = count.step()
    steps.append(("vote opened (card to all; keys to 3 members)", opened, True))
    codes = {}
    for person in reps:
        keys = [t for t in front.texts_to(person) if t.startswith("🔑")]
        if keys:
            codes[person] = re.search(r"(K\d+-\d-[A-Z2-7-]+)", keys[0]).group(1)
    for rep in reps:
        ballot = (await front.say(rep, "x", "phieu 1"))[-1]
        await front.say(rep, "x", number_of(ballot, "Trung tâm Y tế số 2"))
        await front.say(rep, "x", "co")
    steps.append(("ballot, confirmation, receipt", count.step(), False))
    clock.advance(hours=3)
    await voting.tick(JobApp(front))
    closed = count.step()
    async with db.session() as s:  # the committee's "hand back your key" goes through the outbox
        for person in (await s.execute(select(Person).join(OutboxMessage, OutboxMessage.person_id == Person.id))
                       ).scalars():
            closed[person.external_id] += 1
    steps.append(("closed at its time (committee asked for keys)", closed, True))
    for person, code in list(codes.items())[:2]:
        await front.say(person, "x", code)
    steps.append(("keys typed back; result + chart + minutes", count.step(), True))
    total, lines = _per_member(steps, reps)
    print("  one secret vote, 14 units (sends per member; a post counts once per member):")
    print("\n".join(lines))
    member = next(p for p in codes if p != HEAD)
    print(f"    in all: the head {total[HEAD]}, a committee member {total[member]}, "
          f"another representative {total[reps[-1]]}")
    await db.dispose()
    return total


async def meeting_messages() -> dict[int, int]:
    db = await _database()
    clock = FakeClock()
    front, reps = await _bloc(db, clock)
    count = Count(front)
    group = Chat("text", GROUP, False)
    steps: list[tuple[str, Counter, bool]] = []
    for text in ("/meeting", "15/12/2026 14:00", "Phòng họp Sở Y tế", "Sơ kết công tác thi đua"):
        await front.say(HEAD, "Lan", text, chat=group)
    steps.append(("the head's dialog (when, where, what)", count.step(), False))
    await front.say(HEAD, "Lan", "-", chat=group)
    steps.append(("meeting card to all", count.step(), True))
    (source,) = meetings_conv.deadline_sources
    async with db.session() as s:
        meeting = (await s.execute(select(Meeting))).scalars().one()
        item = await source.load(s, meeting.id)
        bloc = item.bloc
        plan = reminders.bloc_plan(bloc, meeting.starts_at, clock.now())
        rep_rows = {p.external_id: (await s.get(Unit, r.unit_id))
                    for r, p in (await s.execute(select(Representative, Person).join(Person))).all()}
    for planned in plan:  # each planned reminder: the group's (to all) and, to units not answered, the private one
        group_reply = source.group_text(item, list(rep_rows.values()), planned.at)
        front.said.extend(Said(GROUP, p) for p in front.pending.remember_reply("text", str(GROUP), group_reply))
        steps.append((f"group reminder {planned.code} to all", count.step(), True))
    for planned in plan:
        for uid, unit in rep_rows.items():
            reply = source.private_text(item, unit, planned.at)
            front.said.extend(Said(uid, p) for p in front.pending.remember_reply("text", str(uid), reply))
        steps.append((f"private reminder {planned.code} (not answered yet)", count.step(), False))
    unanswered_total, lines = _per_member(steps, reps)
    print(f"  one meeting with {len(plan)} reminders ({', '.join(p.code for p in plan)}), 14 units:")
    print("\n".join(lines))
    # A unit that answers at once gets no private reminder: its answer and the confirmation instead.
    answered = await front.say(reps[-1], "x", "1")
    print(f"    answering (\"1\" under the card/reminder)         a representative {len(answered):3d}")
    await db.dispose()
    return unanswered_total


async def main(n: int) -> None:
    print("typed reply -> answer through the fake Zalo Bot API over HTTP (SQLite file, one process):")
    await latency(n)
    print()
    vote = await vote_messages()
    print()
    meeting = await meeting_messages()
    print()
    rep_vote, head_vote = max(vote[m] for m in vote if m != HEAD), vote[HEAD]
    rep_meeting, head_meeting = max(meeting[m] for m in meeting if m != HEAD), meeting[HEAD]
    vote_bloc = sum(vote.values())
    meeting_bloc = sum(meeting.values())
    print(f"  per vote:    a representative {rep_vote}, the head {head_vote}, the bloc {vote_bloc} sends")
    print(f"  per meeting: a representative {rep_meeting} (never answering: every reminder), the head "
          f"{head_meeting}, the bloc {meeting_bloc} sends")
    year = VOTES_PER_YEAR * vote_bloc + MEETINGS_PER_YEAR * meeting_bloc
    budget = PLAN_PER_MONTH * 12
    print(f"  a bloc year ({VOTES_PER_YEAR} votes, {MEETINGS_PER_YEAR} meetings, every member on Zalo): {year} sends")
    print(f"  Basic plan: {budget} sends a year -> {budget / year:.1f} blocs of {UNITS} units per bot "
          f"(but 50 users per bot: {50 // (UNITS + 1)} blocs of {UNITS} + head by users)")
    peak = vote_bloc * 2 + meeting_bloc  # December: flag + merit votes and the year-end conference
    print(f"  the busiest month (2 votes + 1 meeting per bloc): {peak} sends per bloc -> "
          f"{PLAN_PER_MONTH // peak} blocs within one month's 3,000")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
