"""What the bot says about secret votes: the group card, the private ballot, the committee's keys,
results, the minutes sheet. Buttons are the typed actions of bot/conversations/ballot.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction

from bot.conversations import ballot as act
from bot.i18n import N_, _
from bot.render.model import kind_heading
from bot.services import ballot_box
from bot.services import voting as svc
from bot.services.tally import Rule, sheet_facts
from bot.views import usage
from bot.views.base import MASK_SLOT, Action, Reply, Typed, esc
from bot.views.blocname import bloc_name
from bot.views.numbers import format_decimal, format_percent
from storage.models import Bloc, Poll, Unit

KIND_LABELS = {
    "flag": N_("Emulation flag (leading unit)"),
    "merit": N_("Certificate of merit"),
    "head": N_("Bloc head for next year"),
    "deputy": N_("Deputy head for next year"),
    "custom": N_("Question"),
    "approval": N_("Approval of proposals (agree / disagree)"),
}
BASE_LABELS = {
    "eligible": N_("of the units entitled to vote"),
    "returned": N_("of the ballots returned"),
    "valid": N_("of the valid ballots"),
}
CLOSE_CHOICES = (("m", N_("Close by hand (/close)")), ("1h", N_("In 1 hour")), ("24h", N_("In 24 hours")),
                 ("3d", N_("In 3 days")))


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, KIND_LABELS["custom"]))


def title(poll: Poll) -> str:
    """The vote's heading, escaped."""
    if poll.kind == "custom":
        return esc(poll.question)
    return esc(kind_label(poll.kind))


def percent(share: Fraction) -> str:
    """A rule's share as regulations write it, in the current locale: "1/2", "2/3", "3/4" for halves,
    thirds and quarters, else a percentage ("80%", "55,5%") — never "66.67"."""
    if share.denominator in (2, 3, 4) and 0 < share < 1:
        return f"{share.numerator}/{share.denominator}"
    value = float(share) * 100
    return format_percent(value, places=0) if value == int(value) else format_percent(value)


def base_label(base: str) -> str:
    return _(BASE_LABELS[base])


def threshold_text(rule: Rule) -> str:
    if rule.strict:
        return _("more than {share} {base}").format(share=percent(rule.threshold), base=base_label(rule.base))
    return _("at least {share} {base}").format(share=percent(rule.threshold), base=base_label(rule.base))


def rule_text(poll: Poll) -> str:
    """The rule in plain words."""
    rule = svc.rule_of(poll)
    if poll.kind == "approval":
        return approval_rule_text(poll, rule)
    parts = [_("One ballot per unit, choose at most {n}.").format(n=rule.max_choices),
             _("Reached with {threshold}.").format(threshold=threshold_text(rule)),
             _("The result is valid if at least {share} of the units vote.").format(share=percent(rule.quorum))]
    cap = rule.effective_cap(len(poll.eligible))
    if cap is not None and poll.kind != "custom":
        parts.append(_("At most {n} unit(s) proposed.").format(n=cap))
        if rule.cap_share is not None:
            parts.append(quota_text(rule, len(poll.eligible)))
    if poll.kind != "custom":
        parts.append(_("A unit may vote for itself.") if rule.self_vote else _("A unit may not vote for itself."))
    parts.append(blank_text(rule))
    return " ".join(parts)


def quota_text(rule: Rule, units: int) -> str:
    """ "(50% of the 13 units not already proposed, rounded down)" """
    assert rule.cap_share is not None
    return _("(quota: {share} of the {count} units not already proposed, rounded down)").format(
        share=percent(rule.cap_share), count=max(0, units - rule.proposed_before))


def blank_text(rule: Rule) -> str:
    if rule.blank_mode == "invalid":
        return _("A blank ballot is accepted but counted invalid.")
    return _("Blank ballots are allowed.") if rule.blank_allowed else _("Blank ballots are not allowed.")


def flag_line(poll: Poll) -> str | None:
    """A merit vote without the unit proposed for the flag: one achievement, one reward."""
    left_out = poll.rule.get("flag_proposed") or []
    if not left_out:
        return None
    return _("Not a candidate, already proposed for the emulation flag (vote #{number}): {names}.").format(
        number=left_out[0]["poll_id"], names=", ".join(esc(e.get("label", "")) for e in left_out))


def turnout_line(voted: int, eligible: int) -> str:
    return _("{voted}/{eligible} units have voted").format(voted=voted, eligible=eligible)


def closing_line(bloc: Bloc, poll: Poll) -> str:
    if poll.closing_at is None:
        return _("Closes: by the bloc head with /close.")
    return _("Closes: {when}").format(when=svc.local_text(bloc, poll.closing_at))


def candidate_lines(poll: Poll) -> list[str]:
    return [f"{i}. {esc(o['label'])}{score_note(o)}" for i, o in enumerate(poll.options, 1)]


def score_note(option: dict) -> str:
    """ " — 95,5 điểm (hạng 2, bằng điểm)" for a candidate taken from the self-assessment ranking."""
    if option.get("score") is None:
        return ""
    if option.get("tied"):
        rank = _("rank {rank}, equal score").format(rank=option["rank"])
    else:
        rank = _("rank {rank}").format(rank=option["rank"])
    return " — " + _("{score} points ({rank})").format(score=format_decimal(option["score"]), rank=rank)


def committee_line(names: Sequence[tuple[str, str]], k: int) -> str:
    members = ", ".join(f"{esc(person)} ({esc(unit)})" if unit else esc(person) for person, unit in names)
    return _("Counting committee ({k} of {n} keys open the box): {members}").format(
        k=k, n=len(names), members=members)


def card(bloc: Bloc, poll: Poll, voted: int, eligible: int, now: datetime,
         committee: Sequence[tuple[str, str]] = (), keys_in: int = 0) -> Reply:
    """The group's vote card: question, candidates, rule, closing, turnout. Never any count of choices."""
    head = _("🗳 <b>Secret ballot #{number}: {title}</b>").format(number=poll.id, title=title(poll))
    if poll.runoff_of_id:
        head += "\n" + _("Runoff of vote #{number}.").format(number=poll.runoff_of_id)
    heading = _("Proposals:") if poll.kind == "approval" else _("Candidates:")
    lines = [head, heading, *candidate_lines(poll), "", rule_text(poll)]
    if flag := flag_line(poll):
        lines.append(flag)
    if poll.status == "cancelled":
        lines += ["", _("❌ This vote was cancelled. Nothing was counted.")]
        return Reply("\n".join(lines))
    lines.append(closing_line(bloc, poll))
    if committee:
        lines.append(committee_line(committee, poll.committee_k))
    lines += ["", "<b>" + turnout_line(voted, eligible) + "</b>"]
    if poll.status == "locked":
        lines.append(_("🔒 The ballot box is locked — waiting for the counting committee to open it ({have}/{need}).")
                     .format(have=keys_in, need=poll.committee_k))
        return Reply("\n".join(lines))
    if svc.is_open(poll, now):
        lines.append(_("Representatives: press “Vote” and vote in our private chat. "
                       "Results are shown only after closing."))
        reply = Reply("\n".join(lines))
        return reply.add_row(Action(_("🗳 Vote"), f"{svc.PAYLOAD_PREFIX}{poll.id}", kind="start"))
    lines.append(_("🔒 Voting is closed."))
    return Reply("\n".join(lines))


# -- opening dialog -------------------------------------------------------------------------------

def dialog_kind() -> Reply:
    reply = Reply(_("<b>Open a secret ballot.</b> What is it for?\n\n") + usage.vote_usage() + "\n"
                  + usage.vote_more_usage())
    reply.add_row(Action(_("🚩 Emulation flag"), act.OpenDialog("flag").pack()),
                  Action(_("🎖 Certificate of merit"), act.OpenDialog("merit").pack()))
    reply.add_row(Action(_("👤 Bloc head"), act.OpenDialog("head").pack()),
                  Action(_("👥 Deputy head"), act.OpenDialog("deputy").pack()))
    return reply


def dialog_count(kind: str, candidates: int) -> Reply:
    reply = Reply(_("{kind}: how many units may each ballot choose?").format(kind=esc(kind_label(kind))))
    row = [Action(str(n), act.OpenDialog(kind, n).pack()) for n in range(1, min(candidates, 6) + 1)]
    return reply.add_row(*row)


def dialog_close(kind: str, n: int) -> Reply:
    reply = Reply(_("{kind}, choose up to {n}: when does the vote close?\n"
                    "Candidates: all active units. Rule: the bloc's settings.").format(kind=esc(kind_label(kind)), n=n))
    for code, label in CLOSE_CHOICES:
        reply.add_row(Action(_(label), act.OpenDialog(kind, n, code).pack()))
    return reply


# -- the private ballot -----------------------------------------------------------------------------

def ballot(bloc: Bloc, poll: Poll, unit: Unit, selection: Sequence[int]) -> Reply:
    if poll.kind == "approval":
        return approval_ballot(bloc, poll, unit, selection)
    rule = svc.rule_of(poll)
    lines = [_("🗳 <b>{title}</b> — {bloc}").format(title=title(poll), bloc=esc(bloc_name(bloc))),
             _("You vote on behalf of <b>{unit}</b>. Tick up to {n}, then press “Next”.").format(
                 unit=esc(unit.name), n=rule.max_choices),
             closing_line(bloc, poll),
             _("Ticked: {count}/{n}").format(count=len(selection), n=rule.max_choices)]
    reply = Reply("\n".join(lines))
    mask = act.mask(list(selection))
    for i, option in enumerate(poll.options):
        mark = "☑" if i in selection else "☐"
        own = " " + _("(your unit)") if option.get("unit_id") == unit.id else ""
        reply.add_row(Action(f"{mark} {option['label']}{own}"[:60], act.Tick(poll.id, mask, i).pack()))
    reply.add_row(Action(_("Next ▶"), act.Review(poll.id, mask).pack()))
    reply.typed = _typed_ballot(poll, unit, [*lines[:3]], rule.max_choices, rule.blank_allowed)
    return reply


def _typed_ballot(poll: Poll, unit: Unit, head: list[str], limit: int, blank: bool,
                  text: str | None = None) -> Typed:
    """The ballot on a channel without buttons: the candidates numbered, the numbers typed at once
    ("3", "1,4,7") become the same Review action (and bit mask) the "Next" button carries."""
    if text is None:
        head[1] = _("You vote for <b>{unit}</b>.").format(unit=esc(unit.name))
        lines = [f"{i} · {option['label']}" + (" " + _("(your unit)") if option.get("unit_id") == unit.id else "")
                 for i, option in enumerate(poll.options, 1)]
        lines.append(_("Reply with the numbers of the units you choose, for example 3 or 1,4,7."))
        lines.append(_("Choose at most {n}.").format(n=limit))
    else:
        lines = [_("Type {word} to cast the ballot.").format(word=_("YES")),
                 _("To choose again, type the numbers again, for example 3 or 1,4,7.")]
    words: list[tuple[str, str]] = []
    if blank:
        lines.append(_("Type {word} for a blank ballot.").format(word=_("BLANK")))
        words.append((_("BLANK"), act.Review(poll.id, ballot_box.mask_of([])).pack()))
    return Typed(lines=tuple(lines), text=text if text is not None else "\n".join(head), words=tuple(words),
                 pick=act.Review(poll.id, MASK_SLOT).pack(), count=len(poll.options), limit=limit)


def confirm(bloc: Bloc, poll: Poll, unit: Unit, selection: Sequence[int]) -> Reply:
    if poll.kind == "approval":
        return approval_confirm(bloc, poll, unit, selection)
    if selection:
        chosen = "\n".join(f"• {esc(poll.options[i]['label'])}" for i in selection)
    else:
        chosen = _("(blank ballot: no one chosen)")
        if svc.rule_of(poll).blank_mode == "invalid":
            chosen += "\n" + _("In this vote a blank ballot is counted invalid.")
    text = _("<b>Check your ballot</b> for {unit}:\n{chosen}\n\nOnce cast, it cannot be changed.").format(
        unit=esc(unit.name), chosen=chosen)
    reply = Reply(text)
    mask = act.mask(list(selection))
    reply.add_row(Action(_("✅ Cast the ballot (final)"), act.Cast(poll.id, mask).pack()))
    reply.add_row(Action(_("◀ Change"), act.Change(poll.id, mask).pack()))
    rule = svc.rule_of(poll)
    typed = _typed_ballot(poll, unit, [], rule.max_choices, False, text=text)
    cast = act.Cast(poll.id, mask).pack()
    reply.typed = Typed(lines=typed.lines, text=text, pick=typed.pick, count=typed.count, limit=typed.limit,
                        words=((_("YES"), cast), ("co", cast)))
    return reply


def cast_done(receipt: svc.Receipt) -> Reply:
    """Says nothing about the choices: the chat history keeps only the receipt."""
    lines = [_("✅ The ballot of <b>{unit}</b> is in the box.").format(unit=esc(receipt.unit.name)),
             _("Receipt code: <code>{code}</code>").format(code=receipt.code)]
    if receipt.poll.publish_board:
        lines.append(_("After closing, the receipt list is published: find your code there to check your ballot "
                       "was counted."))
    return Reply("\n".join(lines))


def already_voted(bloc: Bloc, poll: Poll, unit: Unit) -> Reply:
    return Reply(_("Your unit has already voted: {unit} cast its ballot in “{title}”. "
                   "A ballot cannot be changed.").format(
        unit=esc(unit.name), title=title(poll)))


def vote_in_private() -> Reply:
    reply = Reply(_("For a secret ballot, vote in our private chat: press “Vote” under the vote card."))
    return reply.add_row(Action(_("Open private chat"), "hi", kind="start"))


def my_ballots(bloc: Bloc, unit: Unit, rows: list[tuple[Poll, bool]]) -> Reply:
    if not rows:
        return Reply(_("No open vote for {unit} right now.").format(unit=esc(unit.name)))
    lines = [_("<b>Open votes for {unit}</b>:").format(unit=esc(unit.name))]
    reply = Reply("")
    for poll, voted in rows:
        state = _("voted ✅") if voted else _("not voted yet")
        lines.append(f"#{poll.id} {title(poll)} — {state} · {closing_line(bloc, poll)}")
        if not voted:
            reply.add_row(Action(_("🗳 Vote #{number}").format(number=poll.id), f"{svc.PAYLOAD_PREFIX}{poll.id}",
                                 kind="start"))
    reply.text = "\n".join(lines)
    return reply


def reminder(bloc: Bloc, poll: Poll, unit: Unit) -> Reply:
    reply = Reply(_("⏰ Your unit {unit} has not voted yet in “{title}” ({bloc}). {closing}").format(
        unit=esc(unit.name), title=title(poll), bloc=esc(bloc_name(bloc)), closing=closing_line(bloc, poll)))
    return reply.add_row(Action(_("🗳 Vote"), f"{svc.PAYLOAD_PREFIX}{poll.id}", kind="start"))


# -- closing ---------------------------------------------------------------------------------------

def close_confirm(bloc: Bloc, poll: Poll, voted: int, eligible: int) -> Reply:
    reply = Reply(_("Close vote #{number} “{title}” now and count the ballots? {turnout}.").format(
        number=poll.id, title=title(poll), turnout=turnout_line(voted, eligible)))
    reply.add_row(Action(_("✅ Close and count"), act.CloseNow(poll.id).pack()))
    reply.add_row(Action(_("🗑 Cancel the vote (nothing counted)"), act.CancelAsk(poll.id).pack()))
    reply.add_row(Action(_("Keep it open"), act.KeepOpen(poll.id).pack()))
    return reply


def cancel_confirm(poll: Poll) -> Reply:
    reply = Reply(_("Cancel vote #{number} “{title}”? The ballots already cast are destroyed and nothing is "
                    "counted.").format(number=poll.id, title=title(poll)))
    reply.add_row(Action(_("🗑 Yes, cancel it"), act.CancelYes(poll.id).pack()))
    reply.add_row(Action(_("Keep it open"), act.KeepOpen(poll.id).pack()))
    return reply


def kept_open() -> Reply:
    return Reply(_("The vote stays open."))


def cancelled(poll: Poll) -> Reply:
    return Reply(_("❌ Vote #{number} “{title}” was cancelled by the bloc head. Nothing was counted.").format(
        number=poll.id, title=title(poll)))


def extended(bloc: Bloc, poll: Poll) -> Reply:
    return Reply(_("⏩ Vote #{number} “{title}” was extended. {closing}").format(
        number=poll.id, title=title(poll), closing=closing_line(bloc, poll)))


# -- the counting committee's keys ------------------------------------------------------------------

def share_message(bloc: Bloc, poll: Poll, seat: int, share: bytes) -> Reply:
    """Sent once, in private, to one committee member. The server keeps only a hash of the share."""
    code = ballot_box.share_code(poll.id, seat, share)
    text = _("🔑 <b>Your key to the ballot box of vote #{number}: {title}</b> ({bloc})\n"
             "You are on the counting committee. The box opens only when {k} members hand back their keys, "
             "after the vote closes. Keep this message; do not forward it.\n"
             "When the box is locked, press the button below, or send this code to the bot:\n<code>{code}</code>"
             ).format(number=poll.id, title=title(poll), bloc=esc(bloc_name(bloc)), k=poll.committee_k, code=code)
    reply = Reply(text)
    return reply.add_row(Action(_("🔑 Hand back my key"),
                                act.HandKey(poll.id, seat, ballot_box.share_token(share)).pack()))


def key_spent(poll: Poll) -> Reply:
    return Reply(_("🔑 Key of vote #{number} “{title}”: the box has been opened and counted; this key opens "
                   "nothing any more.").format(number=poll.id, title=title(poll)))


def key_received(poll: Poll, have: int, need: int) -> Reply:
    return Reply(_("✅ Key received ({have}/{need}). The box opens when {need} members of the counting "
                   "committee have handed back theirs.").format(have=have, need=need))


def committee_reminder(bloc: Bloc, poll: Poll) -> Reply:
    return Reply(_("🔒 The ballot box of vote #{number} “{title}” ({bloc}) is locked. As a member of the "
                   "counting committee, press “Hand back my key” in the key message the bot sent you, or send "
                   "its code.").format(number=poll.id, title=title(poll), bloc=esc(bloc_name(bloc))))


def committee_unreachable(names: Sequence[str]) -> Reply:
    return Reply(_("The vote was not opened: the bot could not deliver the key to {names}. Ask them to open the "
                   "bot's private chat and press Start, or name other units with <code>bkp 2,5,9</code>.").format(
                       names=", ".join(esc(n) for n in names)))


def waiting_keys(poll: Poll, missing: Sequence[str], have: int) -> str:
    return _("🔒 Vote #{number} {title}: box locked, keys {have}/{need}; not yet handed back: {names}").format(
        number=poll.id, title=title(poll), have=have, need=poll.committee_k,
        names=", ".join(esc(n) for n in missing) or "—")


def already_closed() -> Reply:
    return Reply(_("This vote is already closed."))


# -- results ---------------------------------------------------------------------------------------

def _names(poll: Poll, indexes: Sequence[int]) -> str:
    return ", ".join(esc(poll.options[i]["label"]) for i in indexes)


def term_year(bloc: Bloc, poll: Poll) -> int | None:
    """The year a head or deputy vote elects for: the year after the vote opened (“năm tới”)."""
    if poll.kind not in ("head", "deputy") or poll.opened_at is None:
        return None
    return poll.opened_at.astimezone(svc.zone(bloc)).year + 1


def results(out: svc.Outcome) -> Reply:
    if out.poll.kind == "approval":
        return approval_results(out)
    poll, bloc, r, rule = out.poll, out.bloc, out.result, out.rule
    lines = [_("📊 <b>Result of vote #{number}: {title}</b>").format(number=poll.id, title=title(poll)),
             _("Closed: {when}").format(when=svc.local_text(bloc, poll.closed_at)),
             _("Ballots issued: {issued} · returned: {returned} · valid: {valid} (blank: {blank}) · invalid: {invalid}")
             .format(issued=r.issued, returned=r.returned, valid=r.valid, blank=r.blank, invalid=r.invalid),
             _("Shares are {base} ({count}). Threshold: {threshold}.").format(
                 base=base_label(r.base), count=r.base_count, threshold=threshold_text(rule)),
             ""]
    for i, count in enumerate(r.counts, 1):
        mark = " ✅" if count.candidate in r.winners else (" ⚖️" if count.candidate in r.tied else "")
        lines.append(_("{no}. {name}: {votes}/{base} votes, share {share}").format(  # as the minutes print it
            no=i, name=esc(poll.options[count.candidate]["label"]), votes=count.votes, base=r.base_count,
            share=format_percent(count.share)) + mark)  # "60,00%" in Vietnamese, "60.00%" in English
    lines.append("")
    reply = Reply("")
    if not r.quorum_met:
        lines.append(_("⚠️ The result is NOT VALID: only {returned} of {issued} units voted, "
                       "fewer than {quorum}.")
                     .format(returned=r.returned, issued=r.issued, quorum=percent(rule.quorum)))
    else:
        if r.winners:  # per kind, a proposal, never the award itself (the minutes say the same)
            lines.append(f"{kind_heading(poll.kind, term_year(bloc, poll))} <b>{_names(poll, r.winners)}</b>.")
        elif not r.tied:
            lines.append(_("No candidate reached the threshold."))
        if r.tied:
            lines.append(_("⚖️ Tie at the cut-off between {names} for {seats} place(s).").format(
                names=_names(poll, r.tied), seats=r.seats_left))
            if out.runoff_id:
                lines.append(_("Runoff: vote #{number}.").format(number=out.runoff_id))
            else:
                reply.add_row(Action(_("🔁 Runoff among the tied units"), act.Runoff(poll.id).pack()))
    reply.text = "\n".join(lines)
    return reply


def no_results() -> Reply:
    return Reply(_("No vote has been closed yet."))


def result_sheet(out: svc.Outcome):
    """The renderers' input (bot/render/model.py) built from the tally, in the current locale."""
    from bot.render.model import ResultRow, ResultSheet

    poll, bloc, r, rule = out.poll, out.bloc, out.result, out.rule
    closed_at = poll.closed_at
    assert closed_at is not None  # results exist only for a closed vote
    rows = [ResultRow(no=i, name=poll.options[c.candidate]["label"], votes=c.votes, share=c.share,
                      reached=c.candidate in r.winners) for i, c in enumerate(r.counts, 1)]
    notes = rule_notes(poll, rule, r.issued)
    if r.tied:
        notes.append(_("Tie at the cut-off for {seats} place(s): a runoff among the tied units decides.").format(
            seats=r.seats_left))
    return ResultSheet(
        bloc_title=bloc.title, question=poll.question if poll.kind == "custom" else kind_label(poll.kind),
        kind_label=kind_label(poll.kind), opened_at=poll.opened_at, closed_at=closed_at, tz=bloc.timezone,
        issued=r.issued, returned=r.returned, valid=r.valid, invalid=r.invalid, blank=r.blank,
        base_label=base_label(r.base), base_count=r.base_count, threshold=threshold_text(rule), rows=rows,
        adopted_at=closed_at, method=_("Secret ballot in the bot (each member unit casts one ballot)."),
        quorum=_("at least {share} of the units vote").format(share=percent(rule.quorum)),
        threshold_votes=float(rule.threshold * r.base_count), kind=poll.kind, notes=notes,
        year=term_year(bloc, poll),
        **sheet_facts(r, lambda i: poll.options[i]["label"]), **out.minutes)


def results_list(bloc: Bloc, polls: list[Poll]) -> Reply:
    if not polls:
        return no_results()
    lines = [_("<b>Closed votes</b> (show one: <code>/results 12</code>):")]
    lines += [f"#{p.id} {title(p)} — {svc.local_text(bloc, p.closed_at)}" for p in polls]
    return Reply("\n".join(lines))


def board_caption(poll: Poll) -> str:
    return _("Receipt list of vote #{number}: every receipt code with its choices, sorted by code. "
             "Find your code to check your ballot; anyone can recount from it.").format(number=poll.id)


# -- /status ---------------------------------------------------------------------------------------

def status_open(bloc: Bloc, poll: Poll, voted: int, eligible: int) -> str:
    """/status: an open vote's turnout and closing time."""
    return _("🗳 Vote #{number} {title}: {turnout}. {closing}").format(
        number=poll.id, title=title(poll), turnout=turnout_line(voted, eligible), closing=closing_line(bloc, poll))


def status_locked(poll: Poll) -> str:
    return _("🔒 Vote #{number} {title}: the ballot box is locked, waiting for the counting committee "
             "(/mohom shows who has not handed back a key).").format(number=poll.id, title=title(poll))


# -- answers of the conversation (bot/conversations/voting.py) -----------------------------------------

def extend_usage() -> str:
    return _("Write the vote number and the new closing time: <code>/vote extend 3 18:00 26/12/2026</code>")


def opened(poll: Poll) -> Reply:
    return Reply(_("✅ Vote #{number} is open.").format(number=poll.id))


def closed(poll: Poll) -> Reply:
    return Reply(_("🔒 Vote #{number} is closed.").format(number=poll.id))


def vote_in_private_only() -> str:
    return _("For a secret ballot, vote in our private chat: press “Vote” under the vote card.")


def not_a_key_of(poll_id: int) -> str:
    return _("This is not a key of the ballot box of vote #{number}.").format(number=poll_id)


def not_a_key() -> str:
    return _("This is not a key of a ballot box.")


# -- refusals the voting services raise (texts with commands and <code>, so they live here) ------------




# -- /bienban: the facts of the minutes ------------------------------------------------------------

MINUTES_ROLES = {"head": N_("Committee head"), "secretary": N_("Secretary"), "member": N_("Committee member")}


def minutes_facts(bloc: Bloc, poll: Poll, facts: dict, saved: bool) -> Reply:
    """What the minutes of this vote will print; what is still a dotted line to fill by hand."""
    head = (_("✅ Saved in the minutes of vote #{number} “{title}”:") if saved
            else _("📝 Minutes of vote #{number} “{title}”:")).format(number=poll.id, title=title(poll))
    unset = _("(dotted line)")

    def show(value) -> str:
        return esc(str(value)) if value not in (None, "", ()) else unset

    def person(name: str, role: str, unit: str) -> str:
        where = ", " + esc(unit) if unit else ""
        return f"{esc(name)}{where} – {_(MINUTES_ROLES.get(role, MINUTES_ROLES['member']))}"

    committee = "; ".join(person(*member) for member in facts.get("committee", ())) or unset
    present = facts.get("units_present")
    start = svc.meeting_start(poll)
    lines = [head,
             _("Place: {value}").format(value=show(facts.get("place"))),
             _("Venue: {value}").format(value=show(facts.get("venue"))),
             _("Conference: {value}").format(value=show(facts.get("assembly"))),
             _("Number: {value}/BB-KP").format(value=show(facts.get("doc_number"))),
             _("Counting committee: {value}").format(value=committee),
             _("Witnesses: {value}").format(value=show("; ".join(facts.get("witnesses", ())))),
             _("Units present: {value}").format(
                 value=unset if present is None else f"{present}/{facts.get('member_units', len(poll.eligible))}"),
             _("Conference start: {value}").format(value=svc.local_text(bloc, start) if start else unset),
             _("Copies: {value}").format(value=show(facts.get("copies")))]
    if facts.get("advance_ballots") is not None:
        lines.append(_("Ballots sent before the conference: {count}").format(count=facts["advance_ballots"]))
    if poll.status == "closed":
        lines.append(_("Send <code>/results {number}</code> for the minutes with these facts.").format(number=poll.id))
    else:
        lines.append(_("The minutes come with the results, after the count."))
    if not saved:
        lines += ["", usage.minutes_usage()]
    return Reply("\n".join(lines))


# -- the approval ballot: agree / disagree per proposal ------------------------------------------------
# The ballot's selection is the set of proposals marked "agree" (the same bit mask, box and receipt as
# any ballot); a proposal left unmarked is "disagree", and the ballot says so before it is cast.

def approval_rule_text(poll: Poll, rule: Rule) -> str:
    return " ".join([
        _("One ballot per unit: agree or disagree with each proposal (a proposal not marked “agree” counts as "
          "disagree)."),
        _("A proposal passes with agreement {threshold}.").format(threshold=threshold_text(rule)),
        _("The result is valid if at least {share} of the units vote.").format(share=percent(rule.quorum))])


def approval_ballot(bloc: Bloc, poll: Poll, unit: Unit, selection: Sequence[int]) -> Reply:
    lines = [_("🗳 <b>{title}</b> — {bloc}").format(title=title(poll), bloc=esc(bloc_name(bloc))),
             _("You vote on behalf of <b>{unit}</b>. Press a proposal to switch it between “Agree” and “Disagree”, "
               "then press “Next”.").format(unit=esc(unit.name)),
             closing_line(bloc, poll),
             _("Agree: {agree} · Disagree: {disagree}").format(agree=len(selection),
                                                                disagree=len(poll.options) - len(selection))]
    reply = Reply("\n".join(lines))
    mask = act.mask(list(selection))
    for i, option in enumerate(poll.options):
        mark = _("✅ Agree") if i in selection else _("❌ Disagree")
        reply.add_row(Action(f"{mark}: {option['label']}"[:60], act.Tick(poll.id, mask, i).pack()))
    reply.add_row(Action(_("Next ▶"), act.Review(poll.id, mask).pack()))
    return reply


def approval_confirm(bloc: Bloc, poll: Poll, unit: Unit, selection: Sequence[int]) -> Reply:
    marks = "\n".join(f"{_('✅ Agree') if i in selection else _('❌ Disagree')}: {esc(o['label'])}"
                      for i, o in enumerate(poll.options))
    text = _("<b>Check your ballot</b> for {unit}:\n{chosen}\n\nOnce cast, it cannot be changed.").format(
        unit=esc(unit.name), chosen=marks)
    reply = Reply(text)
    mask = act.mask(list(selection))
    reply.add_row(Action(_("✅ Cast the ballot (final)"), act.Cast(poll.id, mask).pack()))
    reply.add_row(Action(_("◀ Change"), act.Change(poll.id, mask).pack()))
    return reply


def approval_line(name: str, agree: int, disagree: int, base: int, share) -> str:
    return _("{name}: agree {agree}/{base} ({share}), disagree {disagree}").format(
        name=name, agree=agree, base=base, share=format_percent(share), disagree=disagree)


def approval_results(out: svc.Outcome) -> Reply:
    poll, bloc, r, rule = out.poll, out.bloc, out.result, out.rule
    lines = [_("📊 <b>Result of vote #{number}: {title}</b>").format(number=poll.id, title=title(poll)),
             _("Closed: {when}").format(when=svc.local_text(bloc, poll.closed_at)),
             _("Ballots issued: {issued} · returned: {returned} · valid: {valid} · invalid: {invalid}")
             .format(issued=r.issued, returned=r.returned, valid=r.valid, invalid=r.invalid),
             _("A proposal passes with agreement {threshold}.").format(threshold=threshold_text(rule)), ""]
    for i, count in enumerate(sorted(r.counts, key=lambda c: c.candidate), 1):
        mark = " ✅" if count.candidate in r.winners else ""
        lines.append(f"{i}. " + approval_line(esc(poll.options[count.candidate]["label"]), count.votes,
                                              r.valid - count.votes, r.base_count, count.share) + mark)
    lines.append("")
    if not r.quorum_met:
        lines.append(_("⚠️ The result is NOT VALID: only {returned} of {issued} units voted, "
                       "fewer than {quorum}.")
                     .format(returned=r.returned, issued=r.issued, quorum=percent(rule.quorum)))
    elif r.winners:
        lines.append(_("Proposals passed: <b>{names}</b>.").format(names=_names(poll, sorted(r.winners))))
    else:
        lines.append(_("No proposal reached the threshold."))
    return Reply("\n".join(lines))


def rule_notes(poll: Poll, rule: Rule, units: int) -> list[str]:
    """The minutes' notes on the quota and the flag unit left out of a merit vote (plain text)."""
    notes = []
    if rule.cap_share is not None and poll.kind != "approval":
        notes.append(_("At most {n} unit(s) may be proposed: {share} of the {count} units not already proposed, "
                       "rounded down.").format(n=rule.effective_cap(units), share=percent(rule.cap_share),
                                               count=max(0, units - rule.proposed_before)))
    left_out = poll.rule.get("flag_proposed") or []
    if left_out:
        notes.append(_("Not a candidate, already proposed for the emulation flag (vote #{number}): {names}.").format(
            number=left_out[0]["poll_id"], names=", ".join(e.get("label", "") for e in left_out)))
    return notes
