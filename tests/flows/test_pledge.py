"""The emulation pledge: the head posts it, units sign once in private, the group line follows."""

from __future__ import annotations

from sqlmodel import select

from storage.models import PledgeSignature
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads


async def test_pledge_post_sign_once_and_group_line(flow, fetch):
    head, (rep, colleague_unit2) = await bloc_with_reps(flow, count=2)
    await flow.send(rep, "/pledge Giao ước", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/pledge Các đơn vị cam kết <hoàn thành> chỉ tiêu năm 2026.", chat=flow.group)
    post = flow.last(flow.group.id)
    assert "Giao ước thi đua năm 2026" in post.text and "&lt;hoàn thành&gt;" in post.text
    assert "Đã ký: 0/5 đơn vị" in post.text
    (payload,) = start_payloads(flow, post, "p_")
    await flow.send(rep, f"/start {payload}")
    prompt = flow.last(rep.id)
    (label, data, _url), = [b for b in flow.buttons(prompt) if b[1]]
    assert label.startswith("✍️ Đơn vị TTYT thị xã Đông Triều ký giao ước") and len(data.encode()) <= 64
    await flow.click(rep, prompt, data)
    assert "đã ký giao ước thi đua năm 2026" in flow.texts(rep.id)[-1]
    assert "Đã ký: 1/5 đơn vị" in flow.last_text(flow.group.id)  # the group post was edited
    await flow.click(rep, prompt, data)  # twice: nothing changes
    assert "không có gì thay đổi" in flow.last_text(rep.id)
    await flow.send(colleague_unit2, "/sign")
    await flow.click(colleague_unit2, flow.last(colleague_unit2.id), "ps:" + payload[2:])
    sigs = await fetch(select(PledgeSignature))
    assert len(sigs) == 2 and all(s.person_id and s.signed_at for s in sigs)
    await flow.send(head, "/status", chat=flow.group)
    assert "Giao ước: 2/5 đơn vị đã ký" in flow.last_text(flow.group.id)
    stranger = flow.user("Khách")
    await flow.send(stranger, f"/start {payload}")
    assert "Trưởng khối" in flow.last_text(stranger.id)
    await flow.send(rep, "/sign", chat=flow.group)
    assert "chat riêng" in flow.last_text(flow.group.id)
    assert len(await fetch(select(PledgeSignature))) == 2
