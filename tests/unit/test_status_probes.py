"""/status asks every feature's probe in one SELECT and runs only the sources whose probe is true;
a source without a probe always runs."""

from __future__ import annotations

from sqlalchemy import false, true

from bot.conversations.core import Conversations, Table
from bot.services import units as unit_service
from storage.models import Bloc


async def test_only_sources_whose_probe_is_true_run(session, clock):
    conv = Conversations("probed")
    ran: list[str] = []

    @conv.status(probe=lambda bloc_id, now: true())
    async def busy(session, clock, bloc):
        ran.append("busy")
        return ["busy line"]

    @conv.status(probe=lambda bloc_id, now: false())
    async def idle(session, clock, bloc):
        ran.append("idle")
        return ["idle line"]

    @conv.status
    async def always(session, clock, bloc):
        ran.append("always")
        return []

    table = Table([conv])
    bloc = Bloc(id=1, chat_id=-1, title="x", year=2026, founder_person_id=1, created_at=clock.now())
    assert await table.status_lines(session, clock, bloc) == ["busy line"]
    assert ran == ["busy", "always"]
    # the probes read by the caller beside its own query: no SELECT of their own
    ran.clear()
    units, reps, probed = await unit_service.units_and_reps(session, 1, table.status_probes(1, clock.now()))
    assert (units, reps, probed) == ([], {}, None)  # no units: the probes run on their own
    assert await table.status_lines(session, clock, bloc, (False, True)) == ["idle line"]
    assert ran == ["idle", "always"]
