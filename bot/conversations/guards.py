"""Checks every step starts with: is this chat a bloc, may this person manage it, is this a member."""

from __future__ import annotations

from bot.i18n import _
from bot.services.blocs import Member, require_manager
from bot.services.errors import NotAllowed, UserError
from storage.models import Bloc, Person


def need_bloc(bloc: Bloc | None) -> Bloc:
    if bloc is None or not bloc.is_active:
        raise UserError(_("This group is not a bloc yet. A group administrator can start with:\n"
                          "<code>/setup Khối thi đua ...</code>"))
    return bloc


def need_manager(bloc: Bloc | None, member: Member | None) -> Member:
    """The bloc of this chat exists and the sender is its head or deputy (or its founding admin)."""
    need_bloc(bloc)
    if member is None:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    return member


def need_member(member: Member | None) -> Member:
    if member is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    return member


def need_person(actor_person: Person | None) -> Person:
    """The person behind a button (absent only for a button pressed by nobody we know)."""
    if actor_person is None:
        raise UserError(_("This button is no longer valid."))
    return actor_person
