"""/bienban's form read into the facts of the minutes: words with or without diacritics, a field
cleared, bad input refused with the examples (nothing guessed), and ballots sent before the
conference counted from the box's sorted cast times only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services import voting as svc
from bot.services.errors import UserError
from bot.services.voting.casting import cast_minute
from storage.models import Bloc

NOW = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)
BLOC = Bloc(chat_id=1, title="Khối", year=2026, created_at=NOW)


def test_fields_with_or_without_diacritics_and_cleared():
    facts = svc.parse_form("dia danh: Quảng Ninh\nĐỊA ĐIỂM: Hội trường\nCó mặt: tất cả trừ 4, 7\n"
                           "Giờ họp: 20/12/2026 08:00\nSố bản: 3\nSố: 05\nHội nghị: xóa", BLOC, 14, NOW)
    assert facts == {"place": "Quảng Ninh", "venue": "Hội trường", "present": 12, "absent_numbers": [4, 7],
                     "meeting_at": "2026-12-20T01:00:00+00:00", "copies": 3, "doc_number": "05", "assembly": None}
    people = svc.parse_form("Ban kiểm phiếu: An, TTYT A; Bình; Cường, TTYT C", BLOC, 14, NOW)["committee"]
    assert [(p["name"], p["unit"], p["role"]) for p in people] == [
        ("An", "TTYT A", "head"), ("Bình", "", "secretary"), ("Cường", "TTYT C", "member")]
    assert svc.parse_form("Có mặt: tất cả", BLOC, 14, NOW) == {"present": 14, "absent_numbers": []}
    assert svc.parse_form("Có mặt: 12", BLOC, 14, NOW) == {"present": 12, "absent_numbers": None}


@pytest.mark.parametrize("form,says", [
    ("Địa danh Quảng Ninh", "Không hiểu dòng"),
    ("Thời tiết: nắng", "Không hiểu dòng"),
    ("Có mặt: 15", "từ 0 đến 14"),
    ("Có mặt: tất cả trừ 20", "từ 0 đến 14"),
    ("Giờ họp: 8 giờ sáng", "08:00 20/12/2026"),
    ("Giờ họp: 08:00", "08:00 20/12/2026"),
    ("Số bản: ba", "từ 1 đến 20"),
    ("Nhân chứng: " + "; ".join(f"Người {i}" for i in range(10)), "tối đa 9"),
    ("", "/bienban 12"),
])
def test_bad_lines_are_refused_with_examples(form, says):
    with pytest.raises(UserError) as refused:
        svc.parse_form(form, BLOC, 14, NOW)
    assert says in str(refused.value)


def test_the_vote_number_comes_first():
    assert svc.split_number("12\nĐịa danh: Quảng Ninh") == ("12", "Địa danh: Quảng Ninh")
    assert svc.split_number("#7 Số bản: 3") == ("7", "Số bản: 3")
    assert svc.split_number("Số: 05") == (None, "Số: 05")


@given(st.lists(st.integers(min_value=0, max_value=600), max_size=20), st.integers(min_value=0, max_value=600))
def test_advance_ballots_are_the_casts_before_the_start_minute(offsets, start):
    casts = sorted(cast_minute(NOW + timedelta(minutes=m)) for m in offsets)
    assert svc.advance_count(casts, NOW + timedelta(minutes=start, seconds=30)) == sum(m < start for m in offsets)
    assert svc.advance_count(casts, None) is None
