"""Refusals that name a command or a format, raised by services (`raise UserError(usage.x())`).

They live with the views (text for people), in a module that imports nothing of ours but i18n, so
the services can import it at the top without a cycle (views import services, never the reverse
elsewhere). The fronts render them per channel: HTML on Telegram, plain text where there is none."""

from __future__ import annotations

from bot.i18n import _


def setup_usage() -> str:
    return _("Write the bloc's name after the command, for example:\n/setup Khối thi đua các TTYT tuyến huyện")


def already_a_bloc(title: str) -> str:
    return _("This group is already the bloc “{title}”. Send /status to see it.").format(title=title)


def not_a_unit_number(value: str) -> str:
    return _("“{value}” is not a unit number. Send /units to see the numbers.").format(value=value)


def no_such_unit(number: int) -> str:
    return _("There is no unit number {number}. Send /units to see the numbers.").format(number=number)


def no_such_rep(value: str) -> str:
    return _("There is no representative number “{value}”. Send /reps to see the numbers.").format(value=value)


def no_such_setting(key: str) -> str:
    return _("There is no setting “{key}”. Send /settings to see them.").format(key=key)


def vote_usage() -> str:
    return _("Examples:\n<code>/vote co 18:00 25/12/2026</code> — emulation flag, choose 1\n"
             "<code>/vote bangkhen 3</code> — certificate of merit, choose up to 3, closed with /close\n"
             "<code>/vote truong +2h</code> — bloc head, closes in 2 hours\n"
             "<code>/vote co trừ 3,5</code> — units 3 and 5 are not candidates\n"
             "<code>/vote co bkp 2,5,9</code> — the counting committee: representatives of units 2, 5 and 9\n"
             "<code>/vote hoi Question? | Option A | Option B</code>\n"
             "Add <code>congkhai</code> to publish the receipt list after closing.")


def no_unit_number(number: int) -> str:
    return _("There is no unit number {number}. Send /units to see the numbers.").format(number=number)


def no_units_yet() -> str:
    return _("The bloc has no units yet. Add them with /addunit, one name per line.")


def question_usage() -> str:
    return _("Write the question and at least two options: "
             "<code>/vote hoi Question? | Option A | Option B</code>")


def committee_too_small(n: int) -> str:
    return _("A secret ballot needs a counting committee of at least {n} people who have opened the "
             "private chat with the bot (the ballot box is opened with their keys). Ask the "
             "representatives to press Start in the bot's private chat, or name the units with "
             "<code>bkp 2,5,9</code>.").format(n=n)


def numbers_after(word: str) -> str:
    return _("After “{word}” write unit numbers, for example <code>{word} 3,5</code>.").format(word=word)


def options_only_for_question() -> str:
    return _("Options after “|” are only for a question (<code>/vote hoi …</code>).")


def closing_time_format() -> str:
    return _("Write the closing time as HH:MM dd/mm/yyyy, for example <code>18:00 25/12/2026</code>.")


def several_open(number: int) -> str:
    return _("Several votes are open: write the number, for example <code>/close {number}</code>.").format(
        number=number)


def pledge_usage() -> str:
    return _("Write the pledge after the command (<code>/pledge text…</code>) or send the file "
             "with the caption /pledge.")


def pledge_deadline_format() -> str:
    return _("Write the signing deadline as HH:MM dd/mm/yyyy, for example "
             "<code>/pledge deadline 17:00 31/01/2027</code>.")


def pledge_first() -> str:
    return _("Post the pledge first (<code>/pledge</code> followed by the text), then set its deadline.")


def assessment_deadline_format() -> str:
    return _("Write the deadline as HH:MM dd/mm/yyyy, for example "
             "<code>/assessment 17:00 30/11/2026</code>.")


def no_round_open() -> str:
    return _("No self-assessment round is open. Open one: <code>/assessment 17:00 30/11/2026</code>")


def return_usage() -> str:
    return _("Write the reason: <code>/return 3 Thiếu minh chứng tiêu chí 1.2</code>")


def reminder_offsets_format() -> str:
    return _("Write the reminder times before the deadline, for example <code>3d,1d,2h</code> "
             "(d = days, h = hours, m = minutes), or <code>off</code>.")


def reminder_offsets_range() -> str:
    return _("Between 1 and 6 reminder times, each at most 60 days, for example <code>3d,1d,2h</code>.")


def quiet_hours_format() -> str:
    return _("Write the quiet hours as <code>21:00-07:00</code>, or <code>off</code>.")
