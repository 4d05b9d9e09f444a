"""Issue 14, the wording: what a bloc head reads, in administrative Vietnamese.

- replaced phrases never come back in the Vietnamese catalog;
- the result in chat says per kind what the bloc decided (a proposal, never the award);
- no "khối Khối …" when a bloc's title already starts with its word; the "cụm" setting;
- one date-time order everywhere ("18:00 ngày 25/12/2026"), typed in either order;
- /settings values in plain words (the old keywords still accepted).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, use_locale
from bot.i18n_tools import extract, load
from bot.render.model import kind_heading
from bot.services import settings as settings_service
from bot.services.assessments import RESULTS_KEY, parse_deadline
from bot.services.errors import UserError
from bot.services.meetings import parse_when
from bot.services.tally import Rule, tally
from bot.services.timefmt import date_first, local_text
from bot.services.voting import board  # noqa: F401  (registers the vote.* settings)
from bot.services.voting.counting import Outcome
from bot.services.voting.parse import KIND_WORDS
from bot.views import core as core_views
from bot.views import meetings as meeting_views
from bot.views import voting as views
from bot.views.blocname import bloc_name
from storage.models import Bloc, Poll, Unit

# -- the Vietnamese catalog ------------------------------------------------------------------------

# Phrases the reviewer replaced (issue 14): they must not come back in any Vietnamese message.
FORBIDDEN = [
    "Bạn bỏ phiếu cho đơn vị",  # the ballot: "thay mặt", not "for" the own unit
    "Ứng viên", "ứng viên",  # persons; the list is "Danh sách đơn vị bầu chọn"
    "Đạt ngưỡng và được suy tôn",
    "66.67", "66,67", "57.14",  # 2/3 is "2/3"; numbers by locale
    "KHÔNG HỢP LỆ", "Hợp lệ khi", "kết quả hợp lệ", "Kết quả hợp lệ",  # "hợp lệ" is for ballots
    "bị thu hồi", "Đã thu hồi quyền", "bởi Trưởng khối", "bị trả lại",  # active voice
    "Ký giao ước", "ký giao ước",
    "giờ yên lặng",
    "khối Khối", "khối khối", "cụm Cụm",
    "chức danh", "Bạn là Trưởng khối cho đến khi", "Đã ngừng hoạt động",
    "phiếu tự chấm", "Nộp tự chấm điểm", "◀ Trước", "Bỏ qua ▶", "chưa làm",
    "Bằng phiếu giữa", "hòa phiếu",
    "đường link", "Đường link",
    "/vote flag", "/vote merit", "/vote head", "/vote custom", "<code>board</code>",
    "phải trên tỷ lệ", "eligible (", "returned (", "valid (",
    "Ngày/giờ", "dd/mm/yyyy HH:MM",
]


def _vi_entries() -> list[tuple[str, str]]:
    """(msgid, msgstr) of every Vietnamese catalog entry, used or not."""
    out = []
    for po in sorted((LOCALES_DIR / "vi" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="vi"):
                if message.id:
                    msgid = message.id if isinstance(message.id, str) else message.id[0]
                    text = message.string if isinstance(message.string, str) else " ".join(message.string)
                    out.append((msgid, text))
    return out


def test_replaced_phrases_do_not_come_back():
    hits = [(phrase, text) for _msgid, text in _vi_entries() for phrase in FORBIDDEN if phrase in text]
    assert hits == [], "replaced wording is back:\n" + "\n".join(f"{p!r} in {t!r}" for p, t in hits)


def test_suy_ton_only_for_the_flag():
    """"suy tôn" fits only the emulation flag; other kinds are proposals or elections."""
    wrong = [text for msgid, text in _vi_entries() if "suy tôn" in text.lower()
             and not re.search(r"flag|leading unit", msgid, re.IGNORECASE)]
    assert wrong == []


def test_meeting_reminder_counts_down_to_the_meeting():
    """"cuộc họp còn 1 ngày" read as if the meeting lasted one more day."""
    assert not [t for _m, t in _vi_entries() if re.search(r"cuộc họp còn \d|còn \S+ (ngày|giờ|phút)$", t)]
    now = datetime(2026, 12, 10, 8, tzinfo=UTC)
    lead = meeting_views.lead_text(now + timedelta(days=1), now)
    reminder = load("vi")["⏰ <b>Reminder</b>: meeting {lead}"].format(lead=lead)
    assert reminder.endswith("còn 1 ngày nữa đến giờ họp")
    for msgid in ("⏰ <b>Reminder</b>: the self-assessment deadline is {lead} ({when}).",
                  "⏰ <b>Reminder</b>: {unit} has not signed the emulation pledge yet. "
                  "The deadline is {lead} ({when})."):
        assert "còn 1 ngày nữa đến hạn" in load("vi")[msgid].format(lead=lead, when="", unit="TTYT A")


def test_no_english_keyword_left_in_vietnamese_prose():
    """Outside placeholders, commands and <code>, a Vietnamese message has no English keyword."""
    words = ("flag", "merit", "board", "eligible", "returned", "valid", "shared", "none", "off", "custom",
             "deputy", "ballot", "vote", "deadline", "file")
    vi = load("vi")
    hits = []
    for msgid in extract():
        text = re.sub(r"<code>.*?</code>|\{\w*\}|/\w+", "", vi.get(msgid, ""), flags=re.S)
        hits += [(w, msgid) for w in words if re.search(rf"\b{w}\b", text, re.IGNORECASE)]
    assert hits == []


def test_one_term_each():
    """"Phó trưởng khối" as regulations write it; "tệp" (not "file"); "link" (not "đường link")."""
    vi = load("vi")
    texts = [vi[m] for m in extract() if m in vi]
    assert not [t for t in texts if re.search(r"Phó khối(?! |\w)|Phó khối\b", t) and "phokhoi" not in t]
    assert not [t for t in texts if re.search(r"\bfile\b", re.sub(r"<code>.*?</code>", "", t), re.IGNORECASE)]
    assert vi["👥 Deputy head"] == "👥 Phó trưởng khối"
    assert KIND_WORDS["phokhoi"] == KIND_WORDS["phókhối"] == KIND_WORDS["photruongkhoi"] == "deputy"
    assert KIND_WORDS["bieuquyet"] == KIND_WORDS["layykien"] == "custom"


def test_main_path_wording():
    vi = load("vi")
    assert vi["You vote on behalf of <b>{unit}</b>. Tick up to {n}, then press “Next”."].startswith(
        "Bạn bỏ phiếu thay mặt <b>{unit}</b>. Chọn tối đa {n} đơn vị")
    assert vi["✅ Cast the ballot (final)"] == "✅ Gửi phiếu (không sửa được nữa)" != vi["🗳 Vote"]
    assert vi["Candidates:"] == "Danh sách đơn vị bầu chọn:"
    assert vi["Submit self-assessment"] == "📝 Tự chấm điểm"
    assert (vi["◀ Back"], vi["Skip ▶"], vi["nothing yet"]) == ("◀ Tiêu chí trước", "Tiêu chí sau ▶", "chưa chấm")
    assert vi["✍️ Sign the pledge"] == "✍️ Xác nhận tham gia giao ước"
    assert vi["quiet hours (no reminders)"] == "khung giờ không gửi tin nhắc"
    assert "lý do" in vi["Recorded: your unit will be absent."]
    assert "gỡ quyền đại diện" in vi["revoke a representative: /revoke 2"]
    assert "Bạn tạm quản lý khối cho đến khi chọn đơn vị Trưởng khối, Phó trưởng khối." in vi[
        next(m for m in vi if m.startswith("✅ This group is now the bloc"))]
    assert vi["✅ “{name}” was deactivated. Its history is kept."] == (
        "✅ Đã đưa “{name}” ra khỏi danh sách đơn vị của khối (dữ liệu cũ vẫn giữ).")
    assert vi["❌ Vote #{number} “{title}” was cancelled by the bloc head. Nothing was counted."].startswith(
        "❌ Trưởng khối đã hủy")


# -- results in chat: per kind, a proposal --------------------------------------------------------

OPENED = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def _bloc(title: str = "Khối thi đua các TTYT", **settings) -> Bloc:
    return Bloc(id=1, chat_id=-100, title=title, year=2026, timezone="Asia/Ho_Chi_Minh", settings=settings,
                created_at=OPENED)


def _outcome(kind: str, votes: list[list[int]], issued: int = 5) -> Outcome:
    options = [{"label": f"TTYT {c}", "unit_id": i + 1} for i, c in enumerate("ABCDE")]
    if kind == "custom":
        options = [{"label": "Phương án A", "unit_id": None}, {"label": "Phương án B", "unit_id": None}]
    rule = Rule(max_choices=1)
    poll = Poll(id=7, bloc_id=1, kind=kind, question="Chọn địa điểm hội nghị?" if kind == "custom" else "",
                options=options, rule=rule.to_json(), status="closed", opened_at=OPENED,
                closed_at=OPENED + timedelta(hours=2))
    result = tally(list(range(len(options))), issued, votes, rule)
    return Outcome(poll=poll, bloc=_bloc(), result=result, rule=rule)


@pytest.mark.parametrize(("kind", "heading"), [
    ("flag", "Đơn vị được suy tôn dẫn đầu khối, đề nghị tặng Cờ thi đua: <b>TTYT A</b>."),
    ("merit", "Các đơn vị được đề nghị tặng Bằng khen: <b>TTYT A</b>."),
    ("head", "Đơn vị được bầu làm Trưởng khối năm 2027: <b>TTYT A</b>."),
    ("deputy", "Đơn vị được bầu làm Phó trưởng khối năm 2027: <b>TTYT A</b>."),
    ("custom", "Phương án được thông qua: <b>Phương án A</b>."),
])
def test_result_heading_per_kind_in_chat(kind, heading):
    text = views.results(_outcome(kind, [[0], [0], [0], [1]])).text
    assert heading in text
    assert "Đạt tỷ lệ phiếu theo quy định" not in text and "được tặng" not in text
    assert ("suy tôn" in text) == (kind == "flag")
    assert "1. " + ("Phương án A" if kind == "custom" else "TTYT A") + ": 3/5 phiếu, tỷ lệ 60,00%" in text


def test_result_heading_is_the_minutes_heading_in_english_too():
    with use_locale("en"):
        text = views.results(_outcome("merit", [[0], [0], [0], [1]])).text
        assert kind_heading("merit", None) + " <b>TTYT A</b>." in text
        assert "1. TTYT A: 3/5 votes, share 60.00%" in text


def test_result_not_valid_says_so_with_two_thirds():
    text = views.results(_outcome("flag", [[0], [0]], issued=14)).text
    assert "⚠️ Kết quả KHÔNG CÓ GIÁ TRỊ: mới có 2/14 đơn vị bỏ phiếu, chưa đủ 2/3." in text
    assert "suy tôn" not in text


def test_shares_are_written_as_regulations_write_them():
    assert views.percent(Fraction(2, 3)) == "2/3" and views.percent(Fraction(1, 2)) == "1/2"
    assert views.percent(Fraction(4, 5)) == "80%" and views.percent(Fraction(111, 200)) == "55,50%"
    rule = views.rule_text(_outcome("flag", []).poll)
    assert "trên 1/2 tổng số đơn vị được phát phiếu" in rule
    assert "Kết quả có giá trị khi có từ 2/3 số đơn vị trở lên tham gia bỏ phiếu." in rule


# -- the bloc's name: never "khối Khối" -----------------------------------------------------------

def test_no_doubled_bloc_word():
    poll = _outcome("flag", []).poll
    unit = Unit(id=1, bloc_id=1, name="TTYT A", name_key="ttyt a", created_at=OPENED)
    for title, named in (("Khối thi đua các TTYT", "Khối thi đua các TTYT"), ("các TTYT tuyến huyện",
                                                                              "khối các TTYT tuyến huyện")):
        bloc = _bloc(title)
        texts = [views.ballot(bloc, poll, unit, []).text, views.reminder(bloc, poll, unit).text,
                 views.committee_reminder(bloc, poll).text, core_views.join_announced(bloc, unit, "An").text]
        for text in texts:
            assert named in text and not re.search(r"khối khối", text, re.IGNORECASE), text


def test_a_bloc_may_be_called_cum():
    bloc = _bloc("các TTYT", bloc_word="cụm")
    assert bloc_name(bloc) == "cụm các TTYT"
    assert bloc_name(_bloc("Cụm thi đua số 3", bloc_word="cụm")) == "Cụm thi đua số 3"
    assert core_views.role_name(core_views.Role.head, cluster=True) == "Trưởng cụm"
    assert core_views.role_name(core_views.Role.deputy, cluster=True) == "Phó trưởng cụm"
    assert "Trưởng cụm: — · Phó trưởng cụm: —" in core_views.status(bloc, [], {}, []).text
    assert "Trưởng khối: —" in core_views.status(_bloc("các TTYT"), [], {}, []).text
    spec = settings_service.REGISTRY["bloc_word"]
    assert spec.parse("Cụm") == "cụm" and spec.parse("khoi") == "khối"
    with pytest.raises(UserError):
        spec.parse("tổ")


# -- one date-time order -------------------------------------------------------------------------

def test_one_date_time_order_everywhere():
    bloc = _bloc()
    when = datetime(2026, 12, 25, 11, 0, tzinfo=UTC)  # 18:00 in Hà Nội
    assert local_text(bloc, when) == "18:00 ngày 25/12/2026"
    with use_locale("en"):
        assert local_text(bloc, when) == "18:00, 25/12/2026"
    assert local_text(bloc, None) == "—"
    meeting_when = meeting_views.when_text(bloc, when)
    assert meeting_when.index("18:00") < meeting_when.index("25/12/2026")
    poll = _outcome("flag", []).poll
    poll.closing_at = when
    assert views.closing_line(bloc, poll) == "Đóng lúc: 18:00 ngày 25/12/2026"


def test_date_and_time_are_read_in_either_order():
    bloc = _bloc()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    want = datetime(2026, 12, 25, 11, 0, tzinfo=UTC)
    assert date_first("18:00 25/12/2026") == date_first("18:00 ngày 25/12/2026") == "25/12/2026 18:00"
    assert date_first("25/12/2026 18:00") == "25/12/2026 18:00"
    for text in ("18:00 25/12/2026", "25/12/2026 18:00", "18h00 ngày 25/12/2026"):
        assert parse_when(text, bloc, now) == want, text
        assert parse_deadline(text, bloc, now) == want, text
    assert "08:00 11/12/2026" in meeting_views.format_hint()


# -- /settings in plain words --------------------------------------------------------------------

def test_vote_settings_take_and_show_plain_words():
    base = settings_service.REGISTRY["vote.base"]
    assert base.parse("số phiếu hợp lệ") == base.parse("valid") == "valid"
    assert base.parse("Số phiếu thu về") == base.parse("returned") == "returned"
    assert base.parse("tổng số đơn vị") == base.parse("eligible") == "eligible"
    assert base.show("valid") == "số phiếu hợp lệ" and base.show("eligible") == "tổng số đơn vị"
    with pytest.raises(UserError):
        base.parse("phần lớn")
    strict = settings_service.REGISTRY["vote.strict"]
    assert strict.parse("trên") is True and strict.parse("từ") is False
    assert strict.parse("có") is True and strict.parse("không") is False  # the old answers still work
    assert strict.show(True) == "trên (trên 1/2)" and strict.show(False) == "từ … trở lên (từ 2/3 trở lên)"
    results = settings_service.REGISTRY[RESULTS_KEY]
    assert results.parse("công khai") == results.parse("shared") == "shared"
    assert results.parse("Trưởng khối") == results.parse("head") == "head"
    assert results.show("head") == "chỉ Trưởng khối xem"


def test_decree_citations_are_current():
    """Decree 98/2023 was replaced by Decree 152/2025/NĐ-CP and Circular 15/2025/TT-BNV."""
    root = Path(__file__).resolve().parents[2]
    files = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    stale = [str(f.relative_to(root)) for f in files if f.exists()
             for paragraph in f.read_text().split("\n\n")
             if "98/2023" in paragraph and not ("152/2025" in paragraph and re.search(r"thay|replac", paragraph))]
    assert stale == [], "Decree 98/2023 cited as if in force"
    readme = (root / "README.md").read_text()
    assert "152/2025/NĐ-CP" in readme and "15/2025/TT-BNV" in readme


def test_hop_le_is_said_of_ballots_only():
    """"hợp lệ" is for ballots; a result "có giá trị" or not, a link is "không đúng"."""
    wrong = [text for _msgid, text in _vi_entries() if "hợp lệ" in text.lower() and "phiếu" not in text.lower()]
    assert wrong == []


def test_scores_follow_the_locale():
    from bot.services.scoring import fmt

    assert (fmt(4.5), fmt(4.0), fmt(None)) == ("4,5", "4", "—")
    with use_locale("en"):
        assert fmt(4.5) == "4.5"


def test_reminder_settings_in_plain_words():
    from bot.services import reminders

    assert reminders.show_offsets("3d,1d,2h") == "3 ngày, 1 ngày, 2 giờ"
    assert reminders.show_offsets("off") == reminders.show_quiet("off") == "tắt"
    assert reminders.parse_offsets("tắt") == "off" and reminders.show_quiet("21:00-07:00") == "21:00-07:00"


def test_the_bot_calls_the_private_chat_one_way():
    """"tin nhắn riêng với bot" everywhere (not "chat riêng", not "với tôi")."""
    texts = [text for _msgid, text in _vi_entries()]
    assert not [t for t in texts if "chat riêng" in t or "với tôi" in t]


async def test_settings_answer_in_plain_words_through_the_chat(db, clock, settings):
    from tests.support.textbloc import text_bloc

    bloc = await text_bloc(db, clock, settings, reps=1)
    said = await bloc.front.say(bloc.head, "Lan", "/settings vote.base số phiếu hợp lệ", chat=bloc.group)
    assert said[-1] == "✅ Đã đổi vote.base: số phiếu hợp lệ."
    said = await bloc.front.say(bloc.head, "Lan", "/settings vote.strict từ", chat=bloc.group)
    assert said[-1] == "✅ Đã đổi vote.strict: từ … trở lên (từ 2/3 trở lên)."
    said = await bloc.front.say(bloc.head, "Lan", "/settings bloc_word cụm", chat=bloc.group)
    assert said[-1] == "✅ Đã đổi bloc_word: cụm."
    listing = (await bloc.front.say(bloc.head, "Lan", "/settings", chat=bloc.group))[-1]
    assert listing.split("vote.base")[1].split("\n")[0].endswith(": số phiếu hợp lệ")
    assert "3 ngày, 1 ngày, 2 giờ" in listing
    status = (await bloc.front.say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert "Trưởng cụm: TTYT huyện Tiên Yên" in status
