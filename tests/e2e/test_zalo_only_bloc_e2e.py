"""A bloc that lives only on Zalo, from creation to results, over HTTP: a real ZaloClient polling
the fake Zalo Bot API (bot/fakeapi/zalo.py), the conversation table run as plain text, and the
outbox sending group posts to each member in private (drained by hand, on the fake clock).

The head creates the bloc in a private chat, adds 3 units, gets one join code per unit, and the
3 representatives join by typing them. Then a pledge, a sealed vote cast by typing numbers (the
counting committee types its keys back), a meeting with RSVP and a reminder; the quota case (the
fake refuses past N sends: the messages arrive later, once) and the replay case.

Files (the evidence upload page, the scoring template, the export and the minutes by signed link,
the chart by sendPhoto) over real HTTP: tests/e2e/test_zalo_files_e2e.py, with the same Bench.

Run with `-s` to see how many messages each member received for the vote and for the meeting."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.front import ZaloFront, ZaloSender
from bot.channels.zalo.poller import ZaloPoller
from bot.conversations.table import build_table
from bot.fakeapi.zalo import FakeZalo
from bot.outbox import OutboxWorker
from bot.ratelimit import RateLimiter
from bot.services import assessments, scoring
from bot.services.blocs import member_of
from storage.models import Bloc, MeetingRsvp, OutboxMessage, Person, PledgeSignature, ZaloUsage
from tests.support.textbloc import number_of

TOKEN = "6060606060:zalo-only-secret"
CODE = re.compile(r"\b([2-9A-Z]{4}-[2-9A-Z]{4})\b")
KEY = re.compile(r"(K\d+-\d-[A-Z2-7-]+)")
UNITS = ["TTYT huyện Tiên Yên", "TTYT thị xã Quảng Yên", "TTYT thành phố Uông Bí"]


class Bench:
    """A Zalo-only deployment in one test: fake API, client, front, poller, outbox worker."""

    def __init__(self, zalo: FakeZalo, db, clock, settings, front: ZaloFront | None = None) -> None:
        """`front`: the one a ZaloService built (its web routes mounted on a served app), else a new one."""
        self.zalo, self.db, self.clock, self.settings = zalo, db, clock, settings
        self.front = front or ZaloFront(ZaloClient(TOKEN, zalo.base_url), build_table(), db, clock, settings)
        self.client = self.front.client
        self.handled = 0

        async def counting(update) -> None:
            try:
                await self.front.handle(update)
            finally:
                self.handled += 1

        self.poller = ZaloPoller(self.client, counting, db, poll_timeout=1, clock=clock)  # it drops replays
        self.worker = OutboxWorker(db, {"zalo": ZaloSender(self.front)}, clock,
                                   RateLimiter(global_per_sec=1000, chat_per_sec=1000, group_per_min=10_000))
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Bench:
        self.task = asyncio.create_task(self.poller.run())
        return self

    async def __aexit__(self, *exc) -> None:
        self.poller.stop()
        await self.zalo.release_pollers()
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)
        await self.client.close()

    async def say(self, user: dict, text: str) -> list[str]:
        """Type one message; returns what the bot answered in that chat."""
        before, done = len(self.zalo.texts_to(user["id"])), self.handled
        await self.zalo.send_text(user, text)
        await self.zalo.wait_for(lambda: self.handled > done)
        return self.zalo.texts_to(user["id"])[before:]

    async def flush(self) -> None:
        """Send everything the outbox holds that is due within a few seconds."""
        for _ in range(10):
            await self.worker.drain()
            async with self.db.session() as session:
                soon = (await session.execute(select(OutboxMessage).where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.due_at <= self.clock.now() + timedelta(seconds=5)))).first()
            if soon is None:
                return
            self.clock.advance(seconds=5)

    def counts(self, users: dict[str, dict]) -> dict[str, int]:
        """Sends to each member so far: texts and photos (a sendPhoto counts in Zalo's quota too)."""
        return {name: len(self.zalo.sent.get(u["id"], [])) for name, u in users.items()}

    async def pushed(self, users: dict[str, dict], after_id: int) -> dict[str, int]:
        """Messages the outbox sent each member (not answers to what they typed) since row `after_id`."""
        numbers = {name: await self.front.number_of(u["id"]) for name, u in users.items()}
        async with self.db.session() as session:
            rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.id > after_id, OutboxMessage.status == "sent"))).scalars().all()
        return {name: sum(1 for r in rows if r.chat_id == n) for name, n in numbers.items()}

    async def last_row(self) -> int:
        async with self.db.session() as session:
            return max([r.id for r in (await session.execute(select(OutboxMessage))).scalars()], default=0)


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.02) as fake:
        yield fake


async def _bloc_with_three_reps(bench: Bench) -> tuple[dict, list[dict]]:
    zalo = bench.zalo
    head = zalo.add_user("Chị Lan")
    said = await bench.say(head, "xin chào")
    said = await bench.say(head, "setup Khối thi đua các TTYT")
    assert "Khối thi đua các TTYT" in said[-1] and "addunit" in said[-1]
    said = await bench.say(head, "addunit\n" + "\n".join(UNITS))
    assert "Đã thêm 3 đơn vị" in said[-1]
    said = await bench.say(head, "invite")
    codes = [c for text in said for c in CODE.findall(text)]
    assert len(codes) == 3, said
    assert "t.me/" not in "\n".join(said)  # a Zalo head gets codes, not Telegram links
    reps = [zalo.add_user(name) for name in ("Anh Tuấn", "Chị Mai", "Anh Hùng")]
    typed = [f"dk {codes[0]}", codes[1].lower().replace("-", ""), codes[2]]  # any case, with or without the dash
    for i, (rep, text) in enumerate(zip(reps, typed, strict=True)):
        said = await bench.say(rep, text)
        assert f"link tham gia của {UNITS[i]}" in said[-1], said
        said = await bench.say(rep, "1")
        assert f"Từ nay bạn là đại diện của {UNITS[i]}" in said[-1], said
        assert zalo.texts_to(head["id"])[-1].startswith(f"👤 {rep['display_name']} đã đăng ký")
    # A code works once: someone else typing it is refused, and the head is told.
    intruder = zalo.add_user("Khách")
    await bench.say(intruder, codes[1])
    said = await bench.say(intruder, "1")
    assert "đã được sử dụng" in said[-1]
    assert "Khách" in zalo.texts_to(head["id"])[-1]
    return head, reps


async def test_a_zalo_only_bloc_from_creation_to_results(zalo, db, clock, settings, capsys):
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    async with Bench(zalo, db, clock, settings) as bench:
        head, reps = await _bloc_with_three_reps(bench)
        members = {"head": head, "rep1": reps[0], "rep2": reps[1], "rep3": reps[2]}
        async with db.session() as session:
            bloc = (await session.execute(select(Bloc))).scalar_one()
            assert bloc.has_group is False

        # The status summary, typed in private.
        said = await bench.say(head, "status")
        assert "3/3" in said[-1] and "Zalo: " in said[-1] and "tin nhắn tháng này" in said[-1]

        # The pledge: the group post reaches every member in private, once; confirming edits nothing.
        await bench.say(head, "pledge Các đơn vị cam kết hoàn thành chỉ tiêu năm 2026")
        await bench.flush()
        for rep in reps:
            post = zalo.texts_to(rep["id"])[-1]
            assert "Giao ước thi đua" in post, post
            word = next(line for line in post.splitlines() if ": gõ " in line).split(": gõ ")[1].strip()
            prompt = await bench.say(rep, word)
            await bench.say(rep, number_of(prompt[-1], "xác nhận"))
        before = bench.counts(members)
        await bench.flush()
        assert bench.counts(members) == before  # card refreshes send nothing on Zalo
        async with db.session() as session:
            assert len((await session.execute(select(PledgeSignature))).scalars().all()) == 3

        # A sealed vote, cast by typing numbers; the committee types its keys back.
        start, first_row = bench.counts(members), await bench.last_row()
        said = await bench.say(head, "vote co 2h")
        await bench.flush()
        for rep in reps:
            card = next(t for t in reversed(zalo.texts_to(rep["id"])) if "Bỏ phiếu kín #1" in t)
            assert "phieu 1" in card
        keys = {}
        for name, user in members.items():
            found = [KEY.search(t) for t in zalo.texts_to(user["id"]) if t.startswith("🔑")]
            if found and found[0]:
                keys[name] = found[0].group(1)
        assert len(keys) == 3, keys
        for i, rep in enumerate(reps):
            ballot = (await bench.say(rep, "phieu 1"))[-1]
            assert "ví dụ 3 hoặc 1,4,7" in ballot, ballot
            review = (await bench.say(rep, number_of(ballot, UNITS[0])))[-1]
            assert "Gõ CO để gửi phiếu" in review, review
            done = (await bench.say(rep, "co"))[-1]
            assert f"Phiếu của {UNITS[i]} đã vào hòm phiếu" in done
        confirm = (await bench.say(head, "close"))[-1]
        await bench.say(head, number_of(confirm, "Đóng"))
        await bench.flush()  # the committee is asked for its keys
        for name in list(keys)[:2]:
            said = await bench.say(members[name], keys[name])
            assert "Đã nhận khóa" in said[-1], said
        await bench.flush()
        for name, user in members.items():
            results = [t for t in zalo.texts_to(user["id"]) if "Kết quả bỏ phiếu" in t]
            assert len(results) == 1, (name, zalo.texts_to(user["id"])[-3:])
            assert UNITS[0] in results[0]
        vote_counts = {k: v - start[k] for k, v in bench.counts(members).items()}
        vote_pushed = await bench.pushed(members, first_row)

        # A meeting: scheduled by dialog in private, RSVP by number from the card, one reminder.
        start, first_row = bench.counts(members), await bench.last_row()
        zone = ZoneInfo(settings.timezone)
        day = (clock.now() + timedelta(days=2)).astimezone(zone).date()
        meeting_at = datetime.combine(day, time(14, 0), tzinfo=zone)
        when = meeting_at.strftime("%d/%m/%Y %H:%M")
        assert "Họp lúc nào" in (await bench.say(head, "meeting"))[-1]
        assert "Họp ở đâu" in (await bench.say(head, when))[-1]
        await bench.say(head, "Phòng họp Sở Y tế")
        await bench.say(head, "Sơ kết công tác thi đua")
        await bench.say(head, "-")
        await bench.flush()
        for rep in reps[:2]:
            card = zalo.texts_to(rep["id"])[-1]
            assert "Sơ kết công tác thi đua" in card and "1 Dự · 2 Vắng · 3 Cử người thay" in card, card
            said = await bench.say(rep, "1")
            assert said, "an RSVP gets an answer"
        before = bench.counts(members)
        async with db.session() as session:
            assert len((await session.execute(select(MeetingRsvp))).scalars().all()) == 2
        clock.advance(seconds=(meeting_at - timedelta(days=1, minutes=-5) - clock.now()).total_seconds())
        await bench.flush()
        after = bench.counts(members)
        assert after["rep3"] == before["rep3"] + 1  # the one who has not answered: one private reminder
        assert "Nhắc" in zalo.texts_to(reps[2]["id"])[-1] or "nhắc" in zalo.texts_to(reps[2]["id"])[-1]
        assert after["rep1"] == before["rep1"] + 1 and after["rep2"] == before["rep2"] + 1  # the group's reminder
        meeting_counts = {k: v - start[k] for k, v in bench.counts(members).items()}
        meeting_pushed = await bench.pushed(members, first_row)

        # A self-assessment round opened in private reaches every member (the table loaded beforehand).
        async with db.session() as session:
            bloc = (await session.execute(select(Bloc))).scalar_one()
            founder = await session.get(Person, bloc.founder_person_id)
            member = await member_of(session, bloc, founder)
            await assessments.load_table(session, clock, member, [
                scoring.CriterionRow("1.1", "A. Chuyên môn", "Hoàn thành kế hoạch", 10.0)], "bang.csv")
        deadline = (clock.now() + timedelta(days=5)).astimezone(zone).strftime("%d/%m/%Y") + " 17:00"
        await bench.say(head, f"assessment {deadline}")
        await bench.flush()
        for rep in reps:
            assert "Tự chấm điểm thi đua năm 2026" in zalo.texts_to(rep["id"])[-1]

    with capsys.disabled():
        print(f"\nZalo messages per member, one sealed vote (3 units): {vote_counts}, of which pushed "
              f"by the outbox: {vote_pushed}")
        print(f"Zalo messages per member, one meeting with RSVP and one reminder: {meeting_counts}, of which "
              f"pushed by the outbox: {meeting_pushed}")
    async with db.session() as session:
        usage = (await session.execute(select(ZaloUsage))).scalar_one()
        assert usage.sent == zalo.sent_this_month  # every accepted send counted, nothing else


async def test_quota_refusals_are_sent_later_once(zalo, db, clock, settings):
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    settings.zalo_monthly_quota = 20
    async with Bench(zalo, db, clock, settings) as bench:
        head, reps = await _bloc_with_three_reps(bench)
        zalo.set_quota(zalo.sent_this_month + 2)  # two more messages this month, then 429
        await bench.say(head, "pledge Các đơn vị cam kết hoàn thành chỉ tiêu năm 2026")
        await bench.flush()
        posts = {r["id"]: [t for t in zalo.texts_to(r["id"]) if "Giao ước thi đua" in t] for r in reps}
        assert sum(len(p) for p in posts.values()) <= 2
        async with db.session() as session:
            held = (await session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending"))).all()
        assert held, "refused messages wait in the outbox"
        # An answer to what someone types while the quota is spent waits in the outbox too.
        said = await bench.say(reps[0], "whoami")
        assert said == []
        zalo.new_month()
        zalo.set_quota(None)
        clock.advance(days=2)
        await bench.flush()
        for rep in reps:
            assert len([t for t in zalo.texts_to(rep["id"]) if "Giao ước thi đua" in t]) == 1  # late, once
        assert len([t for t in zalo.texts_to(reps[0]["id"]) if "Vai trò: đại diện đơn vị" in t]) == 1
        # The heads were told once when 80% of the plan (20) was used.
        warnings = [t for t in zalo.texts_to(head["id"]) if "tin nhắn" in t and "⚠️" in t]
        assert len(warnings) == 1, zalo.texts_to(head["id"])[-5:]


async def test_a_replayed_update_is_handled_once(zalo, db, clock, settings):
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    async with Bench(zalo, db, clock, settings) as bench:
        head = zalo.add_user("Chị Lan")
        await bench.say(head, "xin chào")
        first = await zalo.send_text(head, "setup Khối thi đua các TTYT")
        await zalo.wait_for(lambda: len(zalo.texts_to(head["id"])) == 2)
        done = bench.handled
        await zalo.replay(first)
        await bench.say(head, "status")
        assert bench.handled == done + 1  # the replay was dropped before the front
    async with db.session() as session:
        assert len((await session.execute(select(Bloc))).scalars().all()) == 1


async def test_a_member_zalo_refuses_is_listed_to_the_head(zalo, db, clock, settings):
    settings.zalo_bot_token = SecretStr(TOKEN)
    settings.zalo_api_base = zalo.base_url
    async with Bench(zalo, db, clock, settings) as bench:
        head, reps = await _bloc_with_three_reps(bench)
        zalo.wrote.discard(reps[2]["id"])  # Zalo will not let the bot write to him any more (403)
        await bench.say(head, "pledge Các đơn vị cam kết hoàn thành chỉ tiêu năm 2026")
        await bench.flush()
        assert not [t for t in zalo.texts_to(reps[2]["id"]) if "Giao ước thi đua" in t]
        said = await bench.say(head, "status")
        assert f"Anh Hùng ({UNITS[2]}): chưa nhắn tin cho bot trên Zalo" in said[-1], said[-1]
        async with db.session() as session:
            failed = (await session.execute(select(OutboxMessage).where(OutboxMessage.status == "failed"))).all()
        assert len(failed) == 1  # failed once, never retried into a duplicate
