"""Text-only rendering of channel-neutral replies (Zalo): numbered choices, typed words,
2,000-character parts, HTML stripped, diacritics folded when reading answers."""

from __future__ import annotations

from datetime import timedelta

from bot.channels.textual import PendingChoices, fold, plain, render_textual, reply_words, resolve
from bot.i18n import use_locale
from bot.views.base import Action, Reply, esc


def rsvp() -> Reply:
    return Reply("<b>Họp sơ kết</b> lúc 08:00, &lt;phòng 2&gt; &amp; trực tuyến",
                 actions=[[Action("✅ Dự", "m:5:y"), Action("Vắng", "m:5:n")], [Action("Cử người thay", "m:5:s")]])


def test_numbered_choices_and_instruction():
    parts, choices = render_textual(rsvp())
    assert choices == {1: "m:5:y", 2: "m:5:n", 3: "m:5:s"}
    assert parts == ["Họp sơ kết lúc 08:00, <phòng 2> & trực tuyến\n\n1 · ✅ Dự\n2 · Vắng\n3 · Cử người thay\n"
                     "Trả lời bằng số của lựa chọn, ví dụ 1."]
    with use_locale("en"):
        assert render_textual(rsvp())[0][0].endswith("Reply with the number of your choice, for example 1.")


def test_no_actions_no_instruction_and_links_kept():
    parts, choices = render_textual(Reply('Xem <a href="https://thidua.example/d/1">biên bản</a> <i>ở đây</i>'))
    assert parts == ["Xem biên bản (https://thidua.example/d/1) ở đây"] and choices == {}
    assert "Trả lời" not in parts[0]


def test_start_and_url_actions():
    reply = Reply("Phiếu bầu đã mở", actions=[[Action("Bỏ phiếu", "v_12", "start")],
                                              [Action("Tải mẫu", "https://thidua.example/t/abc", "url")]])
    parts, choices = render_textual(reply)
    assert choices == {}
    assert "Bỏ phiếu: gõ phieu 12" in parts[0] and "Tải mẫu: https://thidua.example/t/abc" in parts[0]
    assert reply_words(reply) == {"phieu 12": "start:v_12"}


def test_html_stripped_and_entities_unescaped():
    name = 'Sở <Y tế> & "Dân số"'
    text = plain(f"<b>{esc(name)}</b> <code>7KQ2-MX</code> <tg-spoiler>ẩn</tg-spoiler> <blockquote>trích</blockquote>")
    assert text == 'Sở <Y tế> & "Dân số" 7KQ2-MX ẩn trích'
    parts, _ = render_textual(Reply(f"<b>{esc(name)}</b>", actions=[[Action("<i>Có</i>", "c")]]))
    assert "<b>" not in parts[0] and "<i>" not in parts[0] and "1 · Có" in parts[0] and name in parts[0]


def test_split_on_line_boundaries_at_2000():
    lines = [f"{i:03d}. TTYT huyện số {i} — đã nộp bản tự chấm điểm" for i in range(200)]
    reply = Reply("\n".join(lines), actions=[[Action(f"Đơn vị {i}", f"u:{i}")] for i in range(40)])
    parts, choices = render_textual(reply)
    assert len(parts) > 2 and all(len(p) <= 2000 for p in parts)
    assert len(choices) == 40 and choices[40] == "u:39"
    expected = lines + [f"{n} · Đơn vị {n - 1}" for n in range(1, 41)] + ["Trả lời bằng số của lựa chọn, ví dụ 1."]
    assert [line for part in parts for line in part.split("\n") if line] == expected  # nothing lost, order kept
    for line in lines:  # every line arrives whole, in one part
        assert sum(line in p.split("\n") for p in parts) == 1
    assert parts[-1].endswith("Trả lời bằng số của lựa chọn, ví dụ 1.")


def test_a_line_longer_than_the_limit_is_cut():
    parts, _ = render_textual(Reply("x" * 4500))
    assert [len(p) for p in parts] == [2000, 2000, 500]


def test_fold_diacritics():
    assert fold("Phiếu") == "phieu" and fold("ĐỒNG Ý") == "dong y" and fold("đ") == "d"
    assert fold("  /Tự đánh giá ") == "tu danh gia" and fold("1:8 2:9,5") == "1:8 2:9,5"
    assert fold("✅ Dự") == "du"


def test_resolve_numbers_and_words():
    choices = {1: "a", 2: "b", 3: "c"}
    words = {"du": "a", "vang": "b"}
    assert resolve("3", choices) == "c" and resolve(" 3 ", choices) == "c" and resolve("3.", choices) == "c"
    assert resolve("4", choices) is None and resolve("", choices) is None and resolve("xyz", choices, words) is None
    assert resolve("Dự", choices, words) == "a" and resolve("du", choices, words) == "a"
    assert resolve("VẮNG", choices, words) == "b" and resolve("vang", choices, words) == "b"


def test_pending_store_per_person_with_ttl(clock):
    store = PendingChoices(ttl=timedelta(minutes=30), clock=clock)
    parts = store.remember_reply("zalo", "u1", rsvp())
    assert parts == render_textual(rsvp())[0]
    store.remember_reply("zalo", "u2", Reply("Phiếu", actions=[[Action("Gửi phiếu", "v:9:send", "callback")],
                                                                [Action("Mở", "v_9", "start")]]))
    assert store.resolve("zalo", "u1", " 3 ") == "m:5:s"
    assert store.resolve("zalo", "u1", "du") == "m:5:y" and store.resolve("zalo", "u1", "Cử người thay") == "m:5:s"
    assert store.resolve("zalo", "u2", "3") is None and store.resolve("zalo", "u2", "1") == "v:9:send"
    assert store.resolve("zalo", "u2", "gui phieu") == "v:9:send"
    assert store.resolve("zalo", "u2", "Phiếu 9") == "start:v_9"
    assert store.resolve("telegram", "u1", "1") is None  # keyed by channel too
    clock.advance(minutes=31)
    assert store.resolve("zalo", "u1", "1") is None and store.resolve("zalo", "u2", "1") is None
    store.remember("zalo", "u1", {1: "x"})
    store.forget("zalo", "u1")
    assert store.resolve("zalo", "u1", "1") is None


def test_a_pushed_card_without_numbers_keeps_the_dialog_numbers(clock):
    """An outbox copy (a vote card: only a start word) arriving mid-dialog adds its word; the numbers
    the person is answering keep working. A reply to the person's own message replaces them."""
    store = PendingChoices(ttl=timedelta(minutes=30), clock=clock)
    store.remember_reply("zalo", "u1", rsvp())
    card = Reply("Bỏ phiếu kín #2", actions=[[Action("Bỏ phiếu", "v_2", "start")]])
    store.remember_reply("zalo", "u1", card, pushed=True)
    assert store.resolve("zalo", "u1", "1") == "m:5:y" and store.resolve("zalo", "u1", "phieu 2") == "start:v_2"
    store.remember_reply("zalo", "u1", Reply("Cảm ơn"), pushed=True)  # nothing to answer: nothing lost
    assert store.resolve("zalo", "u1", "1") == "m:5:y"
    store.remember_reply("zalo", "u1", card)  # the person's own answer: the card replaces the list
    assert store.resolve("zalo", "u1", "1") is None and store.resolve("zalo", "u1", "phieu 2") == "start:v_2"


def test_pending_store_is_bounded(clock):
    store = PendingChoices(clock=clock, max_entries=3)
    for i in range(5):
        store.remember("zalo", f"u{i}", {1: f"d{i}"})
    assert len(store) == 3 and store.resolve("zalo", "u0", "1") is None and store.resolve("zalo", "u4", "1") == "d4"


def test_channels_never_import_aiogram():
    import subprocess
    import sys

    code = ("import sys, bot.channels.textual, bot.channels.zalo.client, bot.channels.zalo.poller, "
            "bot.channels.zalo.webhook, bot.channels.zalo.dedup, bot.fakeapi.zalo; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
