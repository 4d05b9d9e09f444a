"""The sealed box through the Dispatcher: the committee gets its keys in private, the card names
it, ballot buttons work only in the voter's private chat, every vote button checks rights and the
vote's bloc, the keys are handed back by button or typed code, the board is formula-safe, a long
card keeps its parts, and the selection never reaches FSM storage or the logs."""

from __future__ import annotations

import logging
import re

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from sqlmodel import select

from bot.app import build_dispatcher
from bot.conversations import ballot as act
from bot.services import ballot_box
from storage.models import Person, Poll
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
from tests.flows.test_voting import (
    action_on,
    card_of,
    close_and_count,
    current_text,
    key_messages,
    open_ballot,
    press,
    vote,
)
from tests.support.flow import Flow


async def test_committee_gets_keys_and_the_card_names_it(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote co", chat=flow.group)
    (poll,) = await fetch(select(Poll))
    keys = key_messages(flow, poll.id)
    assert sorted(k.chat_id for k in keys) == sorted([head.id, reps[0].id, reps[1].id])
    assert "Ban kiểm phiếu (cần 2/3 khóa để mở hòm)" in card_of(flow).text and "Đại diện 1" in card_of(flow).text
    codes = [re.search(r"<code>(K\d+-\d-[A-Z2-7-]+)</code>", k.text).group(1) for k in keys]
    hashes = {c["hash"] for c in poll.committee}
    for code in codes:
        poll_id, seat, share = ballot_box.parse_share_code(code)
        assert ballot_box.share_hash(poll_id, seat, share) in hashes  # the server keeps only the hash
    for rep in reps:
        await vote(flow, rep, start_payloads(flow, card_of(flow), "v_")[0], [1])
    await flow.send(head, "/close", chat=flow.group)
    await press(flow, head, flow.last(flow.group.id), act.CloseNow)
    await flow.deliver_outbox()
    assert any("Hòm phiếu của cuộc bỏ phiếu" in t for t in flow.texts(reps[1].id))  # the committee is asked
    await flow.send(head, "/mohom", chat=flow.group)
    assert "chưa nộp: Lan" in flow.last_text(flow.group.id)
    # A member types the code back (the Zalo way); another presses the button.
    await flow.send(reps[1], codes[[k.chat_id for k in keys].index(reps[0].id)])  # someone else's code
    assert "thành viên khác" in flow.last_text(reps[1].id)
    await flow.send(reps[0], codes[[k.chat_id for k in keys].index(reps[0].id)])
    assert "Đã nhận khóa (1/2)" in flow.last_text(reps[0].id)
    await flow.send(reps[0], codes[[k.chat_id for k in keys].index(reps[0].id)])
    assert "đã nộp khóa rồi" in flow.last_text(reps[0].id)
    await flow.send(reps[0], "K999-1-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-A")
    assert "không tồn tại" in flow.last_text(reps[0].id)
    head_key = next(k for k in keys if k.chat_id == head.id)
    await press(flow, head, head_key, act.HandKey)
    assert any("Kết quả bỏ phiếu" in t for t in flow.texts(flow.group.id))
    for key in keys:  # the keys open nothing now: their buttons and codes are gone from the chats
        assert "không còn tác dụng" in current_text(flow, key)
        assert "K" + str(poll.id) + "-" not in current_text(flow, key)


async def test_ballot_and_vote_buttons_check_chat_rights_and_bloc(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=2)
    await flow.send(head, "/vote co", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    ballot = await open_ballot(flow, reps[0], payload)
    tick = action_on(flow, ballot, act.Tick, 1)
    card = card_of(flow)
    await flow.click(reps[0], card, tick)  # a ballot button pressed in the group
    assert "tin nhắn riêng" in flow.answered()[-1]
    cast = act.Cast(int(payload[2:]), "2").pack()
    await flow.click(reps[1], ballot, cast)  # another person's ballot message
    assert "tin nhắn riêng" in flow.answered()[-1]
    await flow.send(head, "/close", chat=flow.group)
    ask = flow.last(flow.group.id)
    await flow.click(reps[0], ask, action_on(flow, ask, act.KeepOpen))
    assert "Chỉ Trưởng khối" in flow.answered()[-1]
    for forged in (act.CancelAsk(999999).pack(), act.CloseNow(2**40).pack(), "vz:abc", "vt:1:zz:1", "ks:1:1:@@"):
        await flow.click(head, ask, forged)
        assert re.search("không tồn tại|không còn hiệu lực|không phải là khóa|tin nhắn riêng",
                         flow.answered()[-1]), forged
    (poll,) = await fetch(select(Poll))
    assert poll.status == "open"


async def test_named_committee_and_unreachable_member(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote co bkp 4", chat=flow.group)  # unit 4 has no representative
    assert "cần một đại diện của" in flow.last_text(flow.group.id)
    async with flow.app.db.session() as s:
        person = (await s.execute(select(Person).where(Person.external_id == reps[2].id))).scalar_one()
        person.blocked = True
        await s.commit()
    await flow.send(head, "/vote co bkp 3", chat=flow.group)
    assert "cần một đại diện của" in flow.last_text(flow.group.id)
    assert not await fetch(select(Poll))
    await flow.send(head, "/vote co bkp 1,2", chat=flow.group)
    (poll,) = await fetch(select(Poll))
    assert sorted(k.chat_id for k in key_messages(flow, poll.id)) == sorted([reps[0].id, reps[1].id])
    assert poll.committee_k == 2


async def test_board_csv_is_formula_safe_and_long_card_keeps_its_turnout(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=3)
    options = " | ".join(["=HYPERLINK(\"x\")", "+1", "@SUM(A1)"] + [f"Phương án {i} " + "x" * 80 for i in range(57)])
    await flow.send(head, f"/vote hoi 3 congkhai Chọn? | {options}", chat=flow.group)
    (poll,) = await fetch(select(Poll))
    parts = [s for s in flow.sent if s.chat_id == flow.group.id and s.method == "sendMessage"][-2:]
    card = card_of(flow) if "Bỏ phiếu kín" in parts[-1].text else parts[-1]
    payload = start_payloads(flow, card, "v_")[0]
    for rep, picks in zip(reps, ([1], [1, 2], [3]), strict=False):
        await vote(flow, rep, payload, picks)
        await flow.app.cards.flush(everything=True)  # what the scheduler does within CARD_DELAY seconds
        assert "đơn vị đã bỏ phiếu" in current_text(flow, card)  # the last part keeps its turnout line
    assert "3/5 đơn vị đã bỏ phiếu" in current_text(flow, card)
    await close_and_count(flow, head, poll.id)
    csv_sent = [s for s in flow.sent if s.filename and s.filename.endswith(".csv")][-1]
    data = flow.files[f"d{csv_sent.message_id}"].decode("utf-8-sig")
    cells = [c for line in data.splitlines()[1:] for c in line.split(",")[2:]]
    assert cells and not any(c.lstrip('"').startswith(("=", "+", "-", "@")) for c in cells)


@pytest.fixture
def every_logger_at_debug():
    """The attacker's log level: every logger we or our libraries use, at DEBUG; restored after."""
    names = ["", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.engine.Engine", "aiosqlite", "aiogram", "asyncpg",
             *logging.root.manager.loggerDict]
    saved = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def test_selection_never_in_fsm_nor_logs(db, clock, settings, caplog, every_logger_at_debug):
    caplog.set_level(logging.DEBUG)
    storage = MemoryStorage()
    flow = Flow(build_dispatcher(settings, db, clock=clock, storage=storage))
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote bangkhen 2", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    pid = int(payload[2:])
    receipts = []
    for rep, picks in zip(reps, ([1, 2], [3], [2, 4]), strict=False):
        receipts.append(re.search(r"([A-Z2-7]{5}-[A-Z2-7]{5})", await vote(flow, rep, payload, picks)).group(1))
    await open_ballot(flow, reps[0], payload)  # an abandoned ballot screen
    await close_and_count(flow, head, pid)
    assert any("Kết quả bỏ phiếu" in t for t in flow.texts(flow.group.id))
    for rep in reps:
        data = await storage.get_data(key=_key(flow, rep))
        assert not data, data  # nothing of a ballot in FSM storage
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "sqlalchemy" in logged or caplog.records  # the run did log
    for needle in [*receipts, *(act.Tick(pid, m, 0).pack()[:8] for m in ("6", "8", "14"))]:
        assert needle not in logged, needle


def _key(flow, user):
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=flow.bot.id, chat_id=user.id, user_id=user.id)


async def test_a_box_that_cannot_be_opened_is_cancelled_and_held_again(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote co", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    await vote(flow, reps[2], payload, [1])
    await flow.send(head, "/close", chat=flow.group)
    await press(flow, head, flow.last(flow.group.id), act.CloseNow)
    (poll,) = await fetch(select(Poll))
    assert poll.status == "locked"
    await flow.send(head, "/vote cancel", chat=flow.group)  # the committee lost its keys
    await press(flow, head, flow.last(flow.group.id), act.CancelYes)
    (poll,) = await fetch(select(Poll))
    assert poll.status == "cancelled"
    await flow.send(head, "/vote co", chat=flow.group)
    assert len(await fetch(select(Poll))) == 2 and "Bỏ phiếu kín #2" in card_of(flow).text


async def test_merge_and_remove_refused_while_a_unit_is_on_an_unfinished_vote(flow, fetch):
    from storage.models import Unit

    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(head, "/vote co", chat=flow.group)
    for command in ("/merge 2 4", "/removeunit 3"):
        await flow.send(head, command, chat=flow.group)
        assert "chưa kết thúc" in flow.last_text(flow.group.id), command
    assert all(u.is_active for u in await fetch(select(Unit)))
    (poll,) = await fetch(select(Poll))
    assert len(poll.eligible) == 5
    await flow.send(head, "/close", chat=flow.group)
    await press(flow, head, flow.last(flow.group.id), act.CloseNow)
    await flow.send(head, "/merge 2 4", chat=flow.group)  # locked, not counted yet: still refused
    assert "chưa kết thúc" in flow.last_text(flow.group.id)
    from tests.flows.test_voting import open_box

    await open_box(flow, poll.id)
    await flow.send(head, "/merge 2 4", chat=flow.group)
    assert "chưa kết thúc" not in flow.last_text(flow.group.id)
    assert len([u for u in await fetch(select(Unit)) if u.is_active]) == 4


async def test_a_restart_while_locked_asks_the_committee_again(flow, fetch):
    from bot.conversations.voting import tick
    from storage.models import OutboxMessage

    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote co", chat=flow.group)
    (poll,) = await fetch(select(Poll))
    await flow.send(head, "/close", chat=flow.group)
    await press(flow, head, flow.last(flow.group.id), act.CloseNow)
    from tests.flows.test_voting import open_box

    await open_box(flow, poll.id, members=1)  # one key in, then the process restarts
    flow.app.dp["vault"] = ballot_box.KeyVault()
    flow.app.extras.clear()
    await tick(flow.app)
    await tick(flow.app)  # asked once per start, not once per pass
    rows = await fetch(select(OutboxMessage).where(OutboxMessage.item_kind == "vote"))
    asked_again = [r for r in rows if "keys-boot" in r.dedup_key]
    assert len(asked_again) == len([c for c in poll.committee if c.get("unit_id")])
    await open_box(flow, poll.id, members=2)  # both hand their keys back again: the box opens
    assert (await fetch(select(Poll)))[0].status == "closed"
