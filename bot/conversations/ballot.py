"""The secret-ballot dialog's typed actions and its steps, channel-neutral (no aiogram).

The selection in progress travels in the ballot's own buttons (`mask`, a hex bit mask of the
ticked candidates): nothing on our side — no FSM storage, no Redis, no database row — holds it
between two presses. The messenger sees it (it carries the buttons); the README says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.actions import ActionData, action
from bot.i18n import _
from bot.services import ballot_box
from bot.services.errors import UserError


@action("vo")
@dataclass(frozen=True)
class OpenDialog(ActionData):
    """The vote-opening dialog: kind, then how many choices, then when it closes."""

    kind: str
    n: int | None = None
    close: str | None = None


@action("vt")
@dataclass(frozen=True)
class Tick(ActionData):
    poll: int
    mask: str
    index: int


@action("vc")
@dataclass(frozen=True)
class Review(ActionData):
    poll: int
    mask: str


@action("ve")
@dataclass(frozen=True)
class Change(ActionData):
    poll: int
    mask: str


@action("vk")
@dataclass(frozen=True)
class Cast(ActionData):
    poll: int
    mask: str


@action("vz")
@dataclass(frozen=True)
class CloseNow(ActionData):
    poll: int


@action("vq")
@dataclass(frozen=True)
class CancelAsk(ActionData):
    poll: int


@action("vx")
@dataclass(frozen=True)
class CancelYes(ActionData):
    poll: int


@action("vn")
@dataclass(frozen=True)
class KeepOpen(ActionData):
    poll: int


@action("vr")
@dataclass(frozen=True)
class Runoff(ActionData):
    poll: int


@action("ks")
@dataclass(frozen=True)
class HandKey(ActionData):
    """A committee member hands back their key share (the share itself rides in the button)."""

    poll: int
    seat: int
    token: str


def selection(mask: str, option_count: int) -> list[int]:
    chosen = ballot_box.selection_of(mask, option_count)
    if chosen is None:
        raise UserError(_("This button is no longer valid."))
    return chosen


def mask(chosen: list[int]) -> str:
    return ballot_box.mask_of(chosen)
