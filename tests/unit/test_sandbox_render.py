"""The sandbox page shows messages as Telegram does: the bot's tags kept through a whitelist,
everything else escaped, URLs and /commands tappable except inside code, pre and links."""

from bot.sandbox.render import to_safe_html


def test_bot_html_is_whitelisted():
    out = to_safe_html(None, '<b>A</b> <strong>B</strong> <i>c</i> <u>d</u> <s>e</s> <span class="tg-spoiler">f</span>'
                             ' <a href="javascript:alert(1)">x</a> <a href="https://t.me/b?start=v_1">y</a>')
    assert out.startswith("<b>A</b> <b>B</b> <i>c</i> <u>d</u> <s>e</s> <span class=\"spoiler\">f</span>")
    assert "javascript" not in out and '<a href="https://t.me/b?start=v_1"' in out


def test_text_is_escaped_and_linkified():
    out = to_safe_html('<script>x</script> & /help, see https://example.org/a. and a/b /x_1')
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert 'data-command="/help"' in out and 'data-command="/x_1"' in out and 'data-command="/b"' not in out
    assert 'href="https://example.org/a"' in out  # the final dot is not part of the link


def test_no_links_inside_code_or_closing_tags():
    out = to_safe_html(None, "<code>/setup Tên khối</code> &lt;/b&gt; <pre>https://x.org</pre>")
    assert "data-command" not in out and "href" not in out
    assert "&lt;/b&gt;" in out
