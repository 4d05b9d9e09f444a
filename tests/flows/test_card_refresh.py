"""The vote card's turnout after casts: coalesced, not edited on every cast (issue 15).

A cast marks the card; the app's scheduler edits each marked card once it has been marked for
CARD_DELAY seconds (bot/app.py CardRefresher). Here the fake clock and an explicit `flush()` stand
for the scheduler's passes."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText

from bot.app import CARD_DELAY, CardRefresher, schedule_jobs
from bot.conversations.core import CardKey
from bot.conversations.voting import CARD
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
from tests.flows.test_voting import card_of, current_text, vote


def card_edits(flow, card) -> int:
    return sum(1 for s in flow.sent if s.method == "editMessageText" and s.chat_id == card.chat_id
               and s.message_id == card.message_id)


async def test_a_burst_of_casts_is_one_card_edit_that_shows_them_all(flow, clock):
    head, reps = await bloc_with_reps(flow, count=5)
    await flow.send(head, "/vote flag", chat=flow.group)
    card = card_of(flow)
    payload = start_payloads(flow, card, "v_")[0]
    for i, rep in enumerate(reps):
        assert "Mã biên nhận" in await vote(flow, rep, payload, [(i + 1) % 5 + 1])
        clock.advance(seconds=CARD_DELAY / 10)
        await flow.app.cards.flush()  # the scheduler's pass: nothing is due yet
    assert card_edits(flow, card) == 0  # no cast edited the group card on its own path
    assert "0/5 đơn vị đã bỏ phiếu" in current_text(flow, card)
    assert list(flow.app.cards.marked) == [CardKey(CARD, int(payload[2:]))]  # marked once, for the burst
    clock.advance(seconds=CARD_DELAY)
    assert await flow.app.cards.flush() == [CardKey(CARD, int(payload[2:]))]
    assert card_edits(flow, card) == 1  # five casts, one edit
    assert "5/5 đơn vị đã bỏ phiếu" in current_text(flow, card)
    assert await flow.app.cards.flush() == []  # nothing marked since: no further edit
    assert card_edits(flow, card) == 1


async def test_the_first_mark_counts_so_a_steady_stream_still_edits(flow, clock):
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote flag", chat=flow.group)
    card = card_of(flow)
    payload = start_payloads(flow, card, "v_")[0]
    await vote(flow, reps[0], payload, [2])
    clock.advance(seconds=CARD_DELAY * 0.6)
    await vote(flow, reps[1], payload, [3])  # marked again before the edit: the first mark's time stays
    clock.advance(seconds=CARD_DELAY * 0.6)
    await flow.app.cards.flush()
    assert card_edits(flow, card) == 1 and "2/5 đơn vị đã bỏ phiếu" in current_text(flow, card)
    await vote(flow, reps[2], payload, [1])
    await flow.app.cards.flush()
    assert card_edits(flow, card) == 1  # marked just now: at most one edit per CARD_DELAY
    clock.advance(seconds=CARD_DELAY)
    await flow.app.cards.flush()
    assert card_edits(flow, card) == 2 and "3/5 đơn vị đã bỏ phiếu" in current_text(flow, card)


async def test_message_not_modified_is_taken_in_stride(flow, clock, monkeypatch):
    head, reps = await bloc_with_reps(flow, count=1)
    await flow.send(head, "/vote flag", chat=flow.group)
    card = card_of(flow)
    payload = start_payloads(flow, card, "v_")[0]
    await vote(flow, reps[0], payload, [2])
    respond = flow._respond

    def refuse_edits(method):
        if isinstance(method, EditMessageText):
            raise TelegramBadRequest(method, "Bad Request: message is not modified")
        return respond(method)

    monkeypatch.setattr(flow, "_respond", refuse_edits)
    clock.advance(seconds=CARD_DELAY)
    assert await flow.app.cards.flush() == [CardKey(CARD, int(payload[2:]))]  # refused, logged, not retried
    assert flow.app.cards.marked == {}


async def test_shutdown_edits_what_is_still_marked(flow):
    from bot.app import on_shutdown

    head, reps = await bloc_with_reps(flow, count=2)
    await flow.send(head, "/vote flag", chat=flow.group)
    card = card_of(flow)
    payload = start_payloads(flow, card, "v_")[0]
    for i, rep in enumerate(reps):
        await vote(flow, rep, payload, [i + 3])
    await on_shutdown(flow.app)
    assert card_edits(flow, card) == 1 and "2/5 đơn vị đã bỏ phiếu" in current_text(flow, card)


def test_the_refresher_runs_on_the_apps_scheduler(flow):
    schedule_jobs(flow.app)
    assert flow.app.scheduler.get_job("cards:flush") is not None
    assert flow.app.scheduler.get_job("wal:cut") is not None  # a -wal cut that a reader held up (storage.db)
    assert isinstance(flow.app.cards, CardRefresher)
