"""A bloc arranged through the services for plain-text conversation tests (no aiogram anywhere):
a text front (bot/channels/textfront.py) over the app's conversation table, a group chat, a head
who founded the bloc and represents unit 1, and representatives of the next units.

    bloc = await text_bloc(db, clock, settings, reps=2)
    await bloc.front.say(bloc.head, "Lan", "/pledge Giao ước", chat=bloc.group)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.channels.textfront import TextDelivery, TextFront
from bot.conversations.core import Actor, Chat, Table
from bot.conversations.table import build_table
from bot.services import blocs as bloc_service
from bot.services import invites, units
from bot.services.blocs import Role
from bot.services.people import touch_person

CHANNEL = "text"
GROUP_ID = -100777
UNIT_NAMES = ["TTYT huyện Tiên Yên", "TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên", "TTYT thành phố Uông Bí",
              "TTYT huyện Hải Hà"]


def number_of(text: str, label: str) -> str:
    """The number typed to choose the line `N · label…` of a reply."""
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s*·\s*(.*)$", line)
        if m and label in m.group(2):
            return m.group(1)
    raise AssertionError(f"no choice {label!r} in:\n{text}")


class JobApp:
    """What a scheduled job (the vote closer, reminders) needs from the app, for a text front: clock,
    db, settings, extras, kick, vault, table and `deliver_outcome(ctx, outcome)` (the front's delivery)."""

    def __init__(self, front: TextFront) -> None:
        self.front, self.clock, self.db, self.settings = front, front.clock, front.db, front.settings
        self.vault, self.table, self.extras, self.dp = front.vault, front.table, {}, None

    def kick(self) -> None:
        pass

    async def deliver_outcome(self, ctx, outcome) -> None:
        await TextDelivery(self.front, ctx, Actor(None, None, None, Chat(CHANNEL, 0, False))).send_all(outcome)


@dataclass
class TextBloc:
    front: TextFront
    group: Chat
    head: int
    reps: list[int] = field(default_factory=list)
    bloc_id: int = 0


async def text_bloc(db, clock, settings, table: Table | None = None, reps: int = 2) -> TextBloc:
    table = table or build_table()
    head_id, rep_ids = 9001, [9002 + i for i in range(reps)]
    async with db.session() as session:
        head = await touch_person(session, clock, head_id, "Lan", None, None, channel=CHANNEL, private=True)
        bloc = await bloc_service.setup_bloc(session, clock, GROUP_ID, "Khối thi đua các TTYT", head, "vi",
                                             settings.timezone, is_admin=True)
        await units.add_units(session, clock, bloc, [(n, None) for n in UNIT_NAMES], head.id)
        unit_list = await units.list_units(session, bloc.id)
        links = await invites.issue_links(session, clock, bloc, unit_list, 14, head.id)
        await invites.join(session, clock, links[0].payload, head)
        await bloc_service.set_post(session, clock, bloc, Role.head, unit_list[0], head.id)
        for i, rep_id in enumerate(rep_ids, start=1):
            person = await touch_person(session, clock, rep_id, f"Đại diện {i}", None, None, channel=CHANNEL,
                                        private=True)
            await invites.join(session, clock, links[i].payload, person)
        bloc_id = bloc.id
    front = TextFront(table, db, clock, settings, channel=CHANNEL)
    return TextBloc(front, Chat(CHANNEL, GROUP_ID, False), head_id, rep_ids, bloc_id)
