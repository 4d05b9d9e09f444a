"""Assessment deadlines get the same automatic reminders as meetings (planned in the outbox)."""

from __future__ import annotations

from sqlmodel import select

from bot.services import reminders
from storage.models import AssessmentRound, OutboxMessage
from tests.flows.test_assessment_form import bloc_with_reps, load_template, open_round, score_all
from tests.flows.test_assessment_scenario import submit


async def pending_rows(fetch):
    rows = await fetch(select(OutboxMessage).where(OutboxMessage.item_kind == "assessment"))
    return [r for r in rows if r.status == "pending"]


async def test_round_plans_replans_and_cancels_reminders(flow, fetch, db):
    head, reps = await bloc_with_reps(flow, count=2)
    await load_template(flow, head)
    await open_round(flow, head, "30/11/2026 17:00")
    planned = await pending_rows(fetch)
    assert sorted(r.kind for r in planned) == ["fanout"] * 3 + ["group"] * 3
    first_version = planned[0].item_version

    # only units that have not submitted are reminded in private
    (rnd,) = await fetch(select(AssessmentRound))
    summary = await score_all(flow, reps[0], f"a_{rnd.id}")
    await submit(flow, reps[0])
    async with db.session() as session:
        src = reminders.source("assessment")
        item = await src.load(session, rnd.id)
        names = [u.name for u in await src.pending_units(session, item)]
    assert "TTYT thị xã Đông Triều" not in names and "TTYT thị xã Quảng Yên" in names and len(names) == 4
    assert summary is not None

    await flow.send(head, "/assessment extend 05/12/2026 17:00", chat=flow.group)
    replanned = await pending_rows(fetch)
    assert len(replanned) == 6 and all(r.item_version != first_version for r in replanned)

    await flow.send(head, "/assessment close", chat=flow.group)
    confirm = flow.last(flow.group.id)
    data = [d for label, d, _u in flow.buttons(confirm) if d and "Đóng" in label][0]
    await flow.click(head, confirm, data)
    assert await pending_rows(fetch) == []
