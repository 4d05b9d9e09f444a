"""The self-assessment through the Dispatcher: table, round, the form criterion by criterion
(typed and tapped scores, back/skip/jump, notes, evidence), submit, versions, late rule, head's view."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.conversations.assessment_form import Evidence, Submit, Summary
from storage.models import AssessmentDraft, EvidenceFile, SubmissionVersion
from tests.flows.test_invites_roles import invite_links, join, make_bloc

ROUND_LINK = re.compile(r"start=(a_\d+)")


def start_payloads(flow, sent, prefix="a_"):
    return [u.split("start=")[1] for _l, _d, u in flow.buttons(sent) if u and f"start={prefix}" in u]


def button(flow, sent, label_part: str) -> str:
    found = [d for label, d, _u in flow.buttons(sent) if d and label_part in label]
    assert found, f"no button {label_part!r} in {[b[0] for b in flow.buttons(sent)]}"
    assert all(len(d.encode()) <= 64 for _l, d, _u in flow.buttons(sent) if d)
    return found[0]


async def bloc_with_reps(flow, count=1):
    """Head (founder) with a bloc of 5 units; `count` units get one representative each."""
    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    payloads = await invite_links(flow, head)
    reps = []
    for i in range(count):
        rep = flow.user(f"Đại diện {i + 1}")
        await join(flow, rep, payloads[i])
        reps.append(rep)
    return head, reps


async def load_template(flow, head):
    await flow.send(head, "/table")
    menu = flow.last(head.id)
    await flow.click(head, menu, button(flow, menu, "mẫu có sẵn"))
    assert "Đã tải bảng chấm điểm" in flow.last_text(head.id)


async def open_round(flow, head, deadline="30/11/2026 17:00") -> str:
    await flow.send(head, f"/assessment {deadline}", chat=flow.group)
    post = flow.last(flow.group.id)
    assert "📝 Tự chấm điểm" in [b[0] for b in flow.buttons(post)]
    return start_payloads(flow, post)[0]


async def score_all(flow, rep, payload, value="1"):
    """Open the form and type `value` for every criterion (bonus and penalty too)."""
    await flow.send(rep, f"/start {payload}")
    for _ in range(12):
        text = flow.last_text(rep.id)
        if "Tổng hợp" in text and "Tiêu chí" not in text:
            break
        await flow.send(rep, value)
    return flow.last(rep.id)


async def test_form_typed_tapped_back_skip_jump_note_submit(flow, fetch):
    head, (rep,) = await bloc_with_reps(flow)
    await load_template(flow, head)
    payload = await open_round(flow, head)
    assert "0/5 đơn vị đã nộp" in flow.last_text(flow.group.id)
    assert "17:00 ngày 30/11/2026" in flow.last_text(flow.group.id)

    await flow.send(rep, f"/start {payload}")
    card = flow.last(rep.id)
    assert "Tiêu chí 1/12" in card.text and "Tối đa: 25 điểm" in card.text
    assert [b[0] for b in flow.buttons(card)][:3] == ["0", "12,5", "25"]
    await flow.send(rep, "30")
    assert "Điểm phải từ 0 đến 25" in flow.last_text(rep.id)
    await flow.send(rep, "mười")
    assert "không phải là điểm" in flow.last_text(rep.id)
    assert not (await fetch(select(AssessmentDraft)))  # bad input changed nothing
    await flow.send(rep, "20,5")
    card = flow.last(rep.id)
    assert "Tiêu chí 2/12" in card.text
    await flow.click(rep, card, button(flow, card, "Tiêu chí trước"))
    card = flow.last(rep.id)
    assert "Tiêu chí 1/12" in card.text and "Điểm: <b>20,5</b>" in card.text
    await flow.click(rep, card, button(flow, card, "Tiêu chí sau"))
    card = flow.last(rep.id)
    assert "Tiêu chí 2/12" in card.text
    await flow.click(rep, card, button(flow, card, "10"))  # tap the max of criterion 1.2
    card = flow.last(rep.id)
    assert "Tiêu chí 3/12" in card.text
    # a note on criterion 3, then the jump list straight to the penalty line
    await flow.click(rep, card, button(flow, card, "Ghi chú"))
    await flow.send(rep, "Báo cáo <b>đủ</b> 12/12 kỳ")
    card = flow.last(rep.id)
    assert "Báo cáo &lt;b&gt;đủ&lt;/b&gt; 12/12 kỳ" in card.text and "Tiêu chí 3/12" in card.text
    await flow.click(rep, card, button(flow, card, "Chọn tiêu chí"))
    jump = flow.last(rep.id)
    assert "✓ 1.1" in [b[0] for b in flow.buttons(jump)]
    await flow.click(rep, jump, button(flow, jump, "TR"))
    assert "Tiêu chí 12/12" in flow.last_text(rep.id) and "điểm trừ" in flow.last_text(rep.id)

    # summary: missing criteria listed, no submit button; a forged submit is refused
    card = flow.last(rep.id)
    await flow.click(rep, card, button(flow, card, "Tổng hợp"))
    summary = flow.last(rep.id)
    assert "Chưa chấm (8): 1.3, 2.1" in summary.text and "<b>Tổng điểm: 30,5</b>" in summary.text
    assert not [b for b in flow.buttons(summary) if b[0] == "✅ Nộp"]
    round_id = payload[2:]
    await flow.click(rep, summary, Submit(round_id).pack())
    assert "Còn 8 tiêu chí chưa chấm" in flow.answered()[-1]
    assert not (await fetch(select(SubmissionVersion)))

    # "Chấm tiếp" goes to the first missing criterion; type the rest (bonus/penalty may stay empty)
    await flow.click(rep, summary, button(flow, summary, "Chấm tiếp"))
    assert "Tiêu chí 3/12" in flow.last_text(rep.id)
    for value in ["5", "10", "10", "5", "10", "10", "10", "4,5"]:
        await flow.send(rep, value)
    summary_card = flow.last(rep.id)
    assert "Tiêu chí 11/12" in summary_card.text and "điểm thưởng" in summary_card.text
    await flow.click(rep, summary_card, button(flow, summary_card, "Tổng hợp"))
    summary = flow.last(rep.id)
    assert "Chưa chấm" not in summary.text
    assert "• I. Thực hiện nhiệm vụ chuyên môn: <b>35,5</b>" in summary.text
    await flow.click(rep, summary, button(flow, summary, "✅ Nộp"))
    assert "đã nộp bảng tự chấm điểm (lần 1)" in flow.last_text(rep.id)
    assert "1/5 đơn vị đã nộp" in flow.last_text(flow.group.id)  # the group post was edited
    versions = await fetch(select(SubmissionVersion))
    assert [(v.version, v.late) for v in versions] == [(1, False)]
    assert versions[0].notes and "12/12 kỳ" in list(versions[0].notes.values())[0]

    # edit again: v1 stays, a second submission is v2 by the same unit
    done = flow.last(rep.id)
    await flow.click(rep, done, button(flow, done, "Sửa lại"))
    assert "Tiêu chí 1/12" in flow.last_text(rep.id)
    await flow.send(rep, "25")
    card = flow.last(rep.id)
    await flow.click(rep, card, button(flow, card, "Tổng hợp"))
    summary = flow.last(rep.id)
    await flow.click(rep, summary, button(flow, summary, "✅ Nộp"))
    versions = await fetch(select(SubmissionVersion).order_by(SubmissionVersion.version))
    assert [v.version for v in versions] == [1, 2] and versions[1].total == versions[0].total + 4.5


async def test_draft_survives_restart_and_another_rep_continues(flow, fetch, db, settings, clock):
    head, (rep,) = await bloc_with_reps(flow)
    await load_template(flow, head)
    payload = await open_round(flow, head)
    await flow.send(rep, f"/start {payload}")
    await flow.send(rep, "20")
    await flow.send(rep, "7,5")
    # a restart: new dispatcher, empty FSM storage; a second representative of the same unit
    from aiogram.fsm.storage.memory import MemoryStorage

    from bot.app import build_dispatcher
    from tests.support.flow import Flow

    flow2 = Flow(build_dispatcher(settings, db, clock=clock, storage=MemoryStorage()))
    flow2._user_ids = iter(range(5001, 5100))
    colleague = flow2.user("Đồng nghiệp")
    await flow2.send(head, "/invite 1", chat=flow2.group)  # a link of their own: a used link adds nobody
    links = [p for t in flow2.texts(head.id) for p in re.findall(r"start=(j_[A-Za-z0-9_-]+)", t)]
    await join(flow2, colleague, links[-1])
    await flow2.send(colleague, "/assess")
    card = flow2.last(colleague.id)
    assert "Tiêu chí 3/12" in card.text
    await flow2.click(colleague, card, button(flow2, card, "Tiêu chí trước"))
    assert "Điểm: <b>7,5</b>" in flow2.last_text(colleague.id)
    await flow2.send(colleague, "10")
    drafts = await fetch(select(AssessmentDraft))
    assert len(drafts) == 1 and sorted(drafts[0].scores.values()) == [10.0, 20.0]


async def test_bad_input_changes_nothing(flow, fetch, clock):
    head, (rep, other) = await bloc_with_reps(flow, count=2)
    await flow.send(rep, "/assess", chat=flow.group)
    assert "tin nhắn riêng" in flow.last_text(flow.group.id)
    await flow.send(rep, "/assess")
    assert "chưa có đợt tự chấm điểm" in flow.last_text(rep.id).lower()
    await load_template(flow, head)
    await flow.send(head, "/assessment 01/01/2020 10:00", chat=flow.group)
    assert "đã qua" in flow.last_text(flow.group.id)
    await flow.send(rep, "/assessment 30/11/2026 17:00", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    payload = await open_round(flow, head)
    round_id = payload[2:]
    await flow.send(rep, f"/start {payload}")
    await flow.send(rep, "5")
    # another unit's representative cannot touch this unit's draft: buttons act on their own unit
    await flow.send(other, f"/start {payload}")
    card = flow.last(other.id)
    assert "TTYT thị xã Quảng Yên" in card.text and "Điểm: <b>chưa chấm</b>" in card.text
    # an outsider cannot open the form at all, and forged links are refused
    stranger = flow.user("Người lạ")
    await flow.send(stranger, f"/start {payload}")
    assert "không phải là đại diện" in flow.last_text(stranger.id) or "chưa được đăng ký" in flow.last_text(stranger.id)
    await flow.send(rep, "/start a_99999")
    assert "không tồn tại" in flow.last_text(rep.id)
    await flow.send(rep, "/start a_x<b>")
    assert "không đúng" in flow.last_text(rep.id)
    # evidence: wrong type, too large
    card = flow.last(rep.id)
    await flow.click(rep, card, Evidence(round_id).pack())
    await flow.send_document(rep, "virus.exe", b"MZ")
    assert "Không nhận loại tệp này" in flow.last_text(rep.id)
    await flow.send_document(rep, "baocao.pdf", b"x" * (21 * 1024 * 1024))
    assert "quá lớn" in flow.last_text(rep.id)
    assert not (await fetch(select(EvidenceFile)))
    # empty submission
    await flow.click(other, flow.last(other.id), Submit(round_id).pack())
    assert "Chưa chấm tiêu chí nào" in flow.answered()[-1]
    # after the deadline (no late submissions allowed): refused, nothing changes
    clock.advance(days=8)
    await flow.send(rep, "/assess")
    await flow.send(rep, "7")
    assert "Đã quá hạn nộp (17:00 ngày 30/11/2026)" in flow.last_text(rep.id)
    drafts = await fetch(select(AssessmentDraft))
    assert [list(d.scores.values()) for d in drafts] == [[5.0]]
    # after close: the form is refused
    await flow.send(head, "/assessment close", chat=flow.group)
    confirm = flow.last(flow.group.id)
    await flow.click(head, confirm, button(flow, confirm, "Đóng"))
    await flow.send(rep, f"/start {payload}")
    assert "đã đóng" in flow.last_text(rep.id)
    assert not (await fetch(select(SubmissionVersion)))


async def test_late_submission_accepted_and_marked_when_allowed(flow, fetch, clock):
    head, (rep,) = await bloc_with_reps(flow)
    await load_template(flow, head)
    payload = await open_round(flow, head, "24/11/2026 17:00")
    await flow.send(head, "/settings assessment_late có", chat=flow.group)
    clock.advance(days=2)
    summary = await score_all(flow, rep, payload, "1")
    await flow.click(rep, summary, button(flow, summary, "✅ Nộp"))
    assert "nộp muộn" in flow.last_text(rep.id)
    (version,) = await fetch(select(SubmissionVersion))
    assert version.late and version.total == 10 + 1 - 1


async def test_evidence_head_view_return_and_history(flow, fetch, clock):
    head, (rep, other) = await bloc_with_reps(flow, count=2)
    await load_template(flow, head)
    payload = await open_round(flow, head)
    round_id = payload[2:]
    summary = await score_all(flow, rep, payload, "2")
    await flow.click(rep, summary, button(flow, summary, "Minh chứng"))
    await flow.send_document(rep, "Bao cao tong ket.pdf", b"%PDF-1.4 ...")
    assert "Đã nhận: Bao cao tong ket.pdf" in flow.last_text(rep.id)
    await flow.send_document(rep, "bang.xlsx", b"PK..")  # in the form, an .xlsx is evidence, not a unit list
    screen = flow.last(rep.id)
    assert "2. bang.xlsx" in screen.text
    await flow.click(rep, screen, button(flow, screen, "Xóa 2."))
    files = await fetch(select(EvidenceFile))
    assert [(f.name, f.removed_at is None) for f in files] == [("Bao cao tong ket.pdf", True), ("bang.xlsx", False)]
    screen = flow.last(rep.id)
    await flow.click(rep, screen, button(flow, screen, "Tổng hợp"))
    summary = flow.last(rep.id)
    await flow.click(rep, summary, button(flow, summary, "✅ Nộp"))
    await flow.send(other, f"/start {payload}")
    await flow.send(other, "3")
    # group status: who submitted / draft / nothing, never a score
    await flow.send(rep, "/assessment", chat=flow.group)
    status = flow.last_text(flow.group.id)
    assert "1. TTYT thị xã Đông Triều — đã nộp" in status and "2. TTYT thị xã Quảng Yên — đang soạn" in status
    assert "3. TTYT thành phố Uông Bí — chưa chấm" in status and "điểm" not in status.split("đã nộp", 1)[1]
    await flow.send(rep, "/assessment")  # a representative gets no scores in private either
    assert "hạng" not in flow.last_text(rep.id)
    # head's private view has totals and who submitted
    await flow.send(head, "/assessment")
    detail = flow.last_text(head.id)
    assert "<b>20</b> điểm, hạng 1" in detail and "Đại diện 1" in detail
    # remind now: the two units with a representative that have not submitted
    await flow.send(head, "/assessment remind", chat=flow.group)
    assert "Đã nhắc 1 đại diện của 4 đơn vị" in flow.last_text(flow.group.id)
    await flow.deliver_outbox()  # queued in the outbox, sent by its worker
    assert "chưa nộp bảng tự chấm điểm" in flow.last_text(other.id)
    await flow.send(head, "/assessment remind", chat=flow.group)  # again within the hour: nothing new
    assert "vừa được nhắc" in flow.last_text(flow.group.id)
    assert sum("chưa nộp bảng tự chấm điểm" in t for t in flow.texts(other.id)) == 1
    # return needs a reason; the unit is told; it resubmits; history shows the return
    await flow.send(head, "/return 1", chat=flow.group)
    assert "lý do" in flow.last_text(flow.group.id)
    await flow.send(head, "/return 1 Thiếu minh chứng <tiêu chí 1.2>", chat=flow.group)
    # the round post is brought up to date, and the head is told whether the unit was reached
    last_two = flow.texts(flow.group.id)[-2:]
    assert any("Đã trả lại bảng tự chấm điểm lần 1" in t for t in last_two)
    notice = flow.last(rep.id)
    assert "Thiếu minh chứng &lt;tiêu chí 1.2&gt;" in notice.text
    assert any("0/5 đơn vị đã nộp" in t for t in last_two)  # the round post went back to 0
    await flow.send(rep, f"/start {start_payloads(flow, notice)[0]}")
    await flow.send(rep, "3")
    card = flow.last(rep.id)
    await flow.click(rep, card, Summary(round_id).pack())
    await flow.click(rep, flow.last(rep.id), button(flow, flow.last(rep.id), "✅ Nộp"))
    assert "lần 2" in flow.last_text(rep.id)
    await flow.send(head, "/assessment history 1")
    history = flow.last_text(head.id)
    assert "Lần 1" in history and "Trưởng khối trả lại" in history and "Lần 2" in history
    versions = await fetch(select(SubmissionVersion).order_by(SubmissionVersion.version))
    assert versions[0].return_reason == "Thiếu minh chứng <tiêu chí 1.2>" and versions[1].returned_at is None


async def test_table_upload_reports_rows_and_loads_only_when_clean(flow, fetch):
    from storage.models import Criterion
    from tests.unit.test_scoring import HEADER, xlsx

    head, _reps = await bloc_with_reps(flow, count=0)
    await flow.send(head, "/table")
    menu = flow.last(head.id)
    await flow.click(head, menu, button(flow, menu, "Tải tệp mẫu"))
    template = [s for s in flow.sent if s.filename == "bang_cham_diem_mau.xlsx"]
    assert template and template[0].chat_id == head.id
    bad = xlsx([HEADER, ["1", "A", "Một", "mười", "normal"], ["1", "A", "Hai", 5, ""]])
    await flow.send_document(head, "bang.xlsx", bad)
    report = flow.last_text(head.id)
    assert "dòng 2: điểm tối đa “mười” không phải là số" in report and "dòng 3: trùng mã “1”" in report
    assert not (await fetch(select(Criterion)))
    good = xlsx([HEADER, ["1", "A", "Một", 60, "normal"], ["2", "B", "Hai", 40, ""], ["T", "", "Thưởng", 5, "bonus"]])
    await flow.send_document(head, "bang.xlsx", good)
    loaded = flow.last_text(head.id)
    assert "Đã tải bảng chấm điểm" in loaded and "Tổng điểm các tiêu chí: <b>100</b>" in loaded
    assert len(await fetch(select(Criterion))) == 3
    # the group sees the loaded table
    await flow.send(head, "/table", chat=flow.group)
    assert "Bảng chấm điểm" in flow.last_text(flow.group.id)
