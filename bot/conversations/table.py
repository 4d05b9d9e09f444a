"""The bot's one routing table: every feature's conversation entries, in the order they are tried
(feature deep links and commands before the core's catch-alls). Both fronts use it: the Telegram
front compiles it into aiogram routers, the text fronts walk it. No aiogram here."""

from __future__ import annotations

from bot.conversations import assessment_form, assessment_rounds, bloc, common, join, meetings, pledge, voting
from bot.conversations import reminders as reminder_conv
from bot.conversations.core import Table
from bot.services import reminders


def build_table() -> Table:
    # Features first; the core's catch-alls last (join's /start catch-all, common's unknown command very last).
    table = Table([voting.conv, pledge.conv, assessment_rounds.conv, assessment_form.conv, meetings.conv,
                   reminder_conv.conv, bloc.conv, join.conv, common.conv])
    for source in table.deadline_sources:
        reminders.register_source(source)
    return table
