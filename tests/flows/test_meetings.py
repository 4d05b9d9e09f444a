"""Meetings through the Dispatcher: one-line and guided scheduling, bad dates, the card and its
RSVP buttons (substitute name asked in private), /meetings, reschedule and cancel."""

from __future__ import annotations

from sqlmodel import select

from bot.conversations.meetings import Rsvp
from bot.conversations.reminders import Mute
from storage.models import Meeting, MeetingRsvp, OutboxMessage, ReminderMute
from tests.flows.test_assessment_form import bloc_with_reps

ONE_LINE = "/meeting 11/12/2026 08:00 | Hội trường <TTYT> Tiên Yên | Hội nghị tổng kết năm 2026"


def rsvp_data(flow, sent, code: str) -> str:
    data = [d for _l, d, _u in flow.buttons(sent) if Rsvp.matches(d) and Rsvp.unpack(d).answer == code]
    assert data, f"no RSVP button {code} in {flow.buttons(sent)}"
    assert all(len(d.encode()) <= 64 for _l, d, _u in flow.buttons(sent) if d)
    return data[0]


async def schedule(flow, head):
    await flow.send(head, ONE_LINE, chat=flow.group)
    card = flow.last(flow.group.id)
    assert "Hội nghị tổng kết năm 2026" in card.text
    return card


async def test_one_line_card_rsvp_substitute_and_list(flow, fetch):
    head, (rep1, rep2, rep3) = await bloc_with_reps(flow, count=3)
    await flow.send(rep1, ONE_LINE, chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    assert await fetch(select(Meeting)) == []

    card = await schedule(flow, head)
    assert "08:00 Thứ Sáu, ngày 11/12/2026" in card.text
    assert "Hội trường &lt;TTYT&gt; Tiên Yên" in card.text  # user text escaped
    assert "Chưa trả lời (5/5)" in card.text
    labels = [b[0] for b in flow.buttons(card)]
    assert labels == ["✅ Tham dự", "❌ Vắng mặt", "👤 Cử người dự thay"]

    await flow.click(rep1, card, rsvp_data(flow, card, "a"))
    assert flow.answered()[-1] == "Đã ghi nhận: đơn vị tham dự."
    card_now = flow.last_text(flow.group.id)
    assert "tham dự 1" in card_now and "Chưa trả lời (4/5)" in card_now and "Đông Triều" not in card_now.split(
        "Chưa trả lời")[1]

    await flow.click(rep2, card, rsvp_data(flow, card, "x"))
    await flow.click(rep2, card, rsvp_data(flow, card, "x"))  # twice: still one answer
    await flow.click(rep3, card, rsvp_data(flow, card, "s"))
    assert "họ tên" in flow.last_text(rep3.id)  # asked in private
    await flow.send(rep3, "Nguyễn Văn <An>, Phó Giám đốc")
    assert "Đã ghi nhận người dự thay: Nguyễn Văn &lt;An&gt;" in flow.last_text(rep3.id)
    card_now = flow.last_text(flow.group.id)
    assert "tham dự 1 · ❌ vắng mặt 1 · 👤 cử người dự thay 1" in card_now
    assert "Nguyễn Văn &lt;An&gt;, Phó Giám đốc" in card_now and "Chưa trả lời (2/5)" in card_now

    rsvps = await fetch(select(MeetingRsvp))
    assert sorted(r.answer for r in rsvps) == ["absent", "attend", "substitute"]

    stranger = flow.user("Khách")
    await flow.click(stranger, card, rsvp_data(flow, card, "a"))
    assert "Chỉ đại diện đơn vị" in flow.answered()[-1]
    assert len(await fetch(select(MeetingRsvp))) == 3

    await flow.send(rep1, "/meetings")  # private: the person's bloc
    listing = flow.last_text(rep1.id)
    assert "Hội nghị tổng kết năm 2026" in listing and "3/5" in listing
    await flow.send(head, "/meetings", chat=flow.group)
    assert "/reschedule" in flow.last_text(flow.group.id)


async def test_bad_dates_get_the_right_format(flow, fetch):
    head, _reps = await bloc_with_reps(flow, count=1)
    for bad in ("/meeting 01/01/2020 08:00 | Hội trường | Họp", "/meeting 31/02/2027 08:00 | Hội trường | Họp",
                "/meeting 2026-12-11 8 giờ | Hội trường | Họp", "/meeting 11/12/2026 08:00"):
        await flow.send(head, bad, chat=flow.group)
        assert "08:00 11/12/2026" in flow.last_text(flow.group.id), bad
    assert "đã qua" in flow.texts(flow.group.id)[-4]
    assert "không phải ngày giờ có thật" in flow.texts(flow.group.id)[-3]
    assert await fetch(select(Meeting)) == []


async def test_guided_dialog_and_cancel(flow, fetch):
    head, _reps = await bloc_with_reps(flow, count=1)
    await flow.send(head, "/meeting", chat=flow.group)
    assert "Họp lúc nào" in flow.last_text(flow.group.id)
    await flow.send(head, "/cancel", chat=flow.group)
    assert "chưa đặt lịch" in flow.last_text(flow.group.id)

    await flow.send(head, "/meeting", chat=flow.group)
    await flow.send(head, "30/02/2027 08:00", chat=flow.group)
    assert "không phải ngày giờ có thật" in flow.last_text(flow.group.id)
    await flow.send(head, "15/12/2026 14:00", chat=flow.group)
    assert "Họp ở đâu" in flow.last_text(flow.group.id)
    await flow.send(head, "Phòng họp Sở Y tế", chat=flow.group)
    await flow.send(head, "Sơ kết công tác thi đua", chat=flow.group)
    assert "Nội dung họp" in flow.last_text(flow.group.id)
    await flow.send_document(head, "chuong_trinh.docx", b"agenda", chat=flow.group, caption="Báo cáo 6 tháng")
    card = next(s for s in reversed(flow.sent) if s.chat_id == flow.group.id and s.method == "sendMessage")
    assert "Sơ kết công tác thi đua" in card.text and "14:00 Thứ Ba, ngày 15/12/2026" in card.text
    assert "Nội dung: Báo cáo 6 tháng" in card.text and "chuong_trinh.docx" in card.text
    assert flow.last(flow.group.id).method == "sendDocument"  # the file follows the card
    (meeting,) = await fetch(select(Meeting))
    assert meeting.place == "Phòng họp Sở Y tế" and meeting.file_id and meeting.group_message_id


async def test_reschedule_resets_answers_tells_everyone_and_cancel(flow, fetch):
    head, (rep1, rep2) = await bloc_with_reps(flow, count=2)
    card = await schedule(flow, head)
    old_attend = rsvp_data(flow, card, "a")
    await flow.click(rep1, card, old_attend)

    await flow.send(head, "/reschedule 1 18/12/2026 14:00", chat=flow.group)
    texts = flow.texts(flow.group.id)
    assert any("Đã dời cuộc họp" in t and "từ 08:00 Thứ Sáu, ngày 11/12/2026 sang" in t for t in texts[-2:])
    edited = flow.last_text(flow.group.id)
    assert "Đã đổi lịch" in edited and "tham dự 0" in edited and "Chưa trả lời (5/5)" in edited
    notices = await fetch(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
    assert sorted(n.chat_id for n in notices) == sorted([rep1.id, rep2.id])
    assert all("18/12/2026" in n.text and "đã đổi lịch" in n.text for n in notices)

    await flow.click(rep1, card, old_attend)  # the old button (old version) no longer counts
    assert "đã đổi lịch" in flow.answered()[-1]
    (meeting,) = await fetch(select(Meeting))
    assert meeting.version == 2

    await flow.send(rep1, "/cancelmeeting 1", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/cancelmeeting 1", chat=flow.group)
    assert any("Đã hủy cuộc họp" in t for t in flow.texts(flow.group.id)[-2:])
    assert "ĐÃ HỦY" in flow.last_text(flow.group.id)
    pending = await fetch(select(OutboxMessage).where(OutboxMessage.status == "pending",
                                                      OutboxMessage.kind.in_(("group", "fanout"))))
    assert pending == []
    await flow.send(head, "/meetings", chat=flow.group)
    assert "Chưa có cuộc họp nào" in flow.last_text(flow.group.id)


async def test_mute_button_records_the_wish(flow, fetch):
    head, (rep1,) = await bloc_with_reps(flow, count=1)
    await schedule(flow, head)
    (meeting,) = await fetch(select(Meeting))
    await flow.send(rep1, "/meetings")
    await flow.click(rep1, flow.last(rep1.id), Mute("meeting", meeting.id).pack())
    assert "không nhận tin nhắc riêng" in flow.answered()[-1]
    (mute,) = await fetch(select(ReminderMute))
    assert mute.item_id == meeting.id
    await flow.click(rep1, flow.last(rep1.id), Mute("bogus", 1).pack())
    assert "không còn hiệu lực" in flow.answered()[-1]
