"""The emulation pledge: the head posts it, units sign once in private, the group line follows."""

from __future__ import annotations

from sqlmodel import select

from bot.conversations.pledge import Sign
from storage.models import PledgeSignature
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads


async def test_pledge_post_sign_once_and_group_line(flow, fetch):
    head, (rep, colleague_unit2) = await bloc_with_reps(flow, count=2)
    await flow.send(rep, "/pledge Giao ước", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/pledge Các đơn vị cam kết <hoàn thành> chỉ tiêu năm 2026.", chat=flow.group)
    post = flow.last(flow.group.id)
    assert "Giao ước thi đua năm 2026" in post.text and "&lt;hoàn thành&gt;" in post.text
    assert "Đã xác nhận tham gia: 0/5 đơn vị" in post.text
    (payload,) = start_payloads(flow, post, "p_")
    await flow.send(rep, f"/start {payload}")
    prompt = flow.last(rep.id)
    (label, data, _url), = [b for b in flow.buttons(prompt) if b[1]]
    assert label.startswith("✍️ TTYT thị xã Đông Triều xác nhận tham gia giao ước") and len(data.encode()) <= 64
    await flow.click(rep, prompt, data)
    assert "đã xác nhận tham gia giao ước thi đua năm 2026" in flow.texts(rep.id)[-1]
    assert "Đã xác nhận tham gia: 1/5 đơn vị" in flow.last_text(flow.group.id)  # the group post was edited
    await flow.click(rep, prompt, data)  # twice: nothing changes
    assert "không có gì thay đổi" in flow.last_text(rep.id)
    await flow.send(colleague_unit2, "/sign")
    await flow.click(colleague_unit2, flow.last(colleague_unit2.id), Sign(int(payload[2:])).pack())
    sigs = await fetch(select(PledgeSignature))
    assert len(sigs) == 2 and all(s.person_id and s.signed_at for s in sigs)
    await flow.send(head, "/status", chat=flow.group)
    assert "Giao ước: 2/5 đơn vị đã xác nhận tham gia" in flow.last_text(flow.group.id)
    stranger = flow.user("Khách")
    await flow.send(stranger, f"/start {payload}")
    assert "Trưởng khối" in flow.last_text(stranger.id)
    await flow.send(rep, "/sign", chat=flow.group)
    assert "tin nhắn riêng" in flow.last_text(flow.group.id)
    assert len(await fetch(select(PledgeSignature))) == 2


async def test_deadline_plans_reminders_for_unsigned_units_only(flow, fetch, clock):
    from storage.models import OutboxMessage, Pledge

    deliver = flow.deliver_outbox

    head, (rep1, rep2) = await bloc_with_reps(flow, count=2)
    await flow.send(head, "/pledge deadline 31/01/2027", chat=flow.group)  # no pledge yet
    assert "đăng giao ước trước" in flow.last_text(flow.group.id)
    await flow.send(head, "/pledge Các đơn vị cam kết.", chat=flow.group)
    post = flow.last(flow.group.id)
    (payload,) = start_payloads(flow, post, "p_")
    await flow.send(rep1, "/pledge deadline 31/01/2027", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    for bad in ("31/13/2027", "mai", "01/01/2020"):
        await flow.send(head, f"/pledge deadline {bad}", chat=flow.group)
        assert "hạn xác nhận" in flow.last_text(flow.group.id).lower() or "đã qua" in flow.last_text(flow.group.id)
    assert (await fetch(select(Pledge)))[0].deadline is None and not await fetch(select(OutboxMessage))

    await flow.send(head, "/pledge deadline 30/11/2026 17:00", chat=flow.group)  # clock: 23/11/2026 09:00 local
    assert any("Hạn xác nhận tham gia giao ước: <b>17:00 ngày 30/11/2026</b>" in t for t in flow.texts(flow.group.id))
    # the post shows it
    assert "Hạn xác nhận: 17:00 ngày 30/11/2026" in flow.messages[(post.chat_id, post.message_id)].text
    rows = await fetch(select(OutboxMessage).where(OutboxMessage.item_kind == "pledge"))
    assert sorted(r.kind for r in rows) == ["fanout", "fanout", "fanout", "group", "group", "group"]

    await flow.send(rep1, f"/start {payload}")
    await flow.click(rep1, flow.last(rep1.id), Sign(int(payload[2:])).pack())  # unit 1 signs
    clock.advance(days=4, hours=10)  # 27/11 19:00 local: past the "3 days before" reminder
    await deliver()  # the fanout row expands into private rows, then those are sent
    group_reminder = [t for t in flow.texts(flow.group.id) if "đến hạn xác nhận tham gia giao ước" in t]
    assert len(group_reminder) == 1 and "Chưa xác nhận (4)" in group_reminder[0]
    assert any("chưa xác nhận tham gia giao ước thi đua" in t for t in flow.texts(rep2.id))
    assert not any("chưa xác nhận tham gia giao ước thi đua" in t for t in flow.texts(rep1.id))  # signed: not reminded

    # /pledge remind: now, once an hour, only unsigned units' representatives.
    before = sum("chưa xác nhận tham gia giao ước" in t for t in flow.texts(rep2.id))
    await flow.send(head, "/pledge remind", chat=flow.group)
    assert "Đã nhắc riêng 1 đại diện" in flow.last_text(flow.group.id)
    assert "TTYT thành phố Uông Bí" in flow.last_text(flow.group.id)  # units 3-5 have nobody to reach
    await deliver()
    assert sum("chưa xác nhận tham gia giao ước" in t for t in flow.texts(rep2.id)) == before + 1
    await flow.send(head, "/pledge remind", chat=flow.group)
    assert "vừa được nhắc" in flow.last_text(flow.group.id)

    # A new pledge replaces the old one: the old reminders are withdrawn.
    await flow.send(head, "/pledge Giao ước mới.", chat=flow.group)
    pending = await fetch(select(OutboxMessage).where(OutboxMessage.item_kind == "pledge",
                                                      OutboxMessage.status == "pending"))
    assert pending == []
