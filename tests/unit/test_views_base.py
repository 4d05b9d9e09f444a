from bot.views.base import esc, split_text


def test_split_text_keeps_lines_and_limit():
    text = "\n".join(f"{i}. TTYT huyện số {i}" for i in range(600))
    parts = split_text(text, 4096)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text


def test_split_text_cuts_a_giant_line():
    parts = split_text("x" * 9000, 4096)
    assert [len(p) for p in parts] == [4096, 4096, 808]


def test_esc_escapes_html():
    assert esc("<b>Sở</b> & Co") == "&lt;b&gt;Sở&lt;/b&gt; &amp; Co"
