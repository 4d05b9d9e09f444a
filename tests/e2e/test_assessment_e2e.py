"""The self-assessment scenario over HTTP: table from an XLSX, a round, three units (two evidence
files, one late), the export opened with openpyxl."""

from __future__ import annotations

from tests.e2e.harness import running_bot
from tests.e2e.httpflow import HttpFlow
from tests.flows.test_assessment_scenario import scenario


async def test_assessment_scenario_over_http(db, db_url, clock):
    async with running_bot(db, db_url, clock) as run:
        flow = await HttpFlow(run).setup()
        await scenario(flow, clock, lambda sent: run.tg.file_bytes(sent.file_id))
        # the only refusals were edits that changed nothing (the progress line), which the bot ignores
        assert all("message is not modified" in d for _m, d in run.tg.errors), run.tg.errors
