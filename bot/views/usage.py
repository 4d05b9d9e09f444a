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


# -- /bienban: the facts of a vote's minutes (bot/services/voting/minutes.py) ----------------------

def minutes_usage() -> str:
    return _("Write the facts of the minutes after /bienban (the vote's number first if several are running), "
             "one per line, for example:\n"
             "<code>/bienban 12\n"
             "Địa danh: Quảng Ninh\n"
             "Địa điểm: Hội trường Sở Y tế\n"
             "Hội nghị: Hội nghị tổng kết công tác thi đua năm 2026\n"
             "Số: 05\n"
             "Ban kiểm phiếu: Nguyễn Văn An, TTYT Đông Triều; Trần Thị Bình, TTYT Hải Hà\n"
             "Nhân chứng: Phạm Thị Dung, Sở Y tế\n"
             "Có mặt: tất cả trừ 4,7\n"
             "Giờ họp: 08:00 20/12/2026\n"
             "Số bản: 3</code>\n"
             "The first member of the counting committee is its head, the second its secretary; without that "
             "line the sealed box's committee is printed. “Xóa” as the value clears a line.")


def minutes_unknown_line(line: str) -> str:
    return _("I do not understand the line “{line}”.").format(line=line) + "\n" + minutes_usage()


def minutes_people_format() -> str:
    return _("Write people as “Name, Unit”, separated by “;” (at most 9), for example: "
             "<code>Ban kiểm phiếu: Nguyễn Văn An, TTYT Đông Triều; Trần Thị Bình, TTYT Hải Hà</code>")


def minutes_present_format(units: int) -> str:
    return _("Write the units present as a number from 0 to {units}, “tất cả”, or “tất cả trừ 4,7” "
             "(unit numbers as in /units).").format(units=units)


def minutes_time_format() -> str:
    return _("Write the conference's start as a time and a date, for example: <code>Giờ họp: 08:00 20/12/2026</code>")


def minutes_copies_format() -> str:
    return _("Write the number of copies from 1 to 20, for example: <code>Số bản: 3</code>")


def minutes_which_vote(number: int) -> str:
    return _("Several votes are running: write the vote's number first, for example "
             "<code>/bienban {number}</code>.").format(number=number)


def approval_usage() -> str:
    return _("An approval vote needs its proposals: the top of the last closed self-assessment ranking, units by "
             "number, or proposals after “|”, for example:\n"
             "<code>/vote dongy diem 3 80%</code> — the 3 best-scored units, passed with at least 80% agreeing\n"
             "<code>/vote dongy 2,5 80%</code> — units 2 and 5 as in /units\n"
             "<code>/vote dongy | Proposal A | Proposal B</code>")


def vote_more_usage() -> str:
    return _("More:\n"
             "<code>/vote dongy diem 3 80%</code> — agree / disagree with the 3 best-scored units, passed from 80%\n"
             "<code>/vote co diem</code> — candidates in the order of the last self-assessment ranking\n"
             "<code>/vote bangkhen 3 kemco</code> — keep the unit proposed for the flag among the candidates\n"
             "<code>/bienban</code> — place, venue, counting committee and units present for the minutes")
