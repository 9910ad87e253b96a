"""ui.text on hostile input: literal text stays literal, safe Markdown loads nothing.

Each output is rendered by a real CommonMark parser (tests/rendered.py) and checked for what a
reader sees and which elements it makes. Streamlit's extras run on top of CommonMark, so the
outputs are also held to the patterns Streamlit's frontend looks for (quoted from its
StreamlitMarkdown.tsx): the browser test checks the whole page in chromium.
"""

from __future__ import annotations

import re

import pytest

from tests.rendered import shown, tags
from ui.text import literal, quoted, safe_markdown

LEAK = "http://127.0.0.2:9/leak?prompt=secret"
NASTY = [
    f"![x]({LEAK})",
    f"![x][r]\n\n[r]: {LEAK}",
    f"[![x]({LEAK})](https://example.com)",
    ":red[alert] :blue-background[x] :small[s] :orange-badge[b] :color[c]{foreground=red}",
    ":material/home: and :material_home: :streamlit: :smile: :+1: :a:b:",
    "<img src=x onerror=alert(1)> <b>bold</b> <script>alert(1)</script> <!-- c -->",
    "example\\.com https://example\\.com/a_b www.example.com a@b.co",
    "$x^2$ and $$y$$ costs $5 and $10",
    "# Heading\n- item\n+ item\n* item\n1. one\n2) two\n> quote\n---\n***\n===",
    "| a | b |\n|---|---|\n| c | d |",
    "```\nfenced\n```\n~~~\ntilde\n~~~",
    "*em* **strong** _u_ __uu__ ~~s~~ `code` ``co`de``",
    "[link](javascript:alert(1)) [l](http://x) <http://auto.link> [^1]",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "&amp; &#60; &lt; &copy; \\& \\\\ trailing\\",
    "10:30, key:value, http://x:8080/y, ratio 1:2:3",
    "line one\nline two\n\nnew paragraph\r\nwindows line",
    "x\n    indented four\n\tindented tab",
    "[brackets] (parens) {braces} #hash !bang |pipe| ~tilde ^caret",
]
# Streamlit's patterns: emoji shortcodes (containsEmojiShortcodes and remark-emoji), the
# material icon plugin (on text, after `:material/` became `:material_` in the source) and the
# logo; a text directive starts at an unescaped colon followed by a letter.
EMOJI_IN_SOURCE = re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:")
SHORTCODE_IN_TEXT = re.compile(r":[\w+-]+:")
DIRECTIVE = re.compile(r"(?<!\\):[A-Za-z]")


@pytest.mark.parametrize("text", NASTY)
def test_literal_shows_exactly_what_was_typed(text):
    markdown = literal(text)
    expected = "\n".join(line.rstrip(" ") for line in text.replace("\r\n", "\n").split("\n"))
    assert shown(markdown) == expected.replace("\t", "    ")
    assert tags(markdown) <= {"p", "br"}  # no image, link, emphasis, heading, list, code


@pytest.mark.parametrize("text", NASTY)
def test_literal_leaves_nothing_for_streamlits_own_plugins(text):
    markdown = literal(text)
    assert not EMOJI_IN_SOURCE.search(markdown)
    assert ":material/" not in markdown
    assert not DIRECTIVE.search(markdown)
    assert not SHORTCODE_IN_TEXT.search(_text_with_joiners(markdown))
    assert "$" not in markdown.replace("\\$", "")  # no math can open


def _text_with_joiners(markdown: str) -> str:
    """The text nodes as Streamlit's plugins see them: escapes resolved, joiners kept."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def test_literal_keeps_arrows_and_dashes_as_typed():
    text = _text_with_joiners(literal("a -> b -- c <= d"))
    for pattern in (r"(^|\s)->(\s|$)", r"(^|\s)--(\s|$)", r"(^|\s)<=(\s|$)"):
        assert not re.search(pattern, text)  # Streamlit's typographic replacements


def test_literal_accepts_any_value():
    assert shown(literal(42)) == "42"
    assert shown(literal(None)) == "None"
    assert literal("") == ""


def test_quoted_keeps_every_line_inside_the_quote():
    markdown = quoted("first ![x](http://e)\n\nsecond :red[x]")
    assert "img" not in tags(markdown)
    assert shown(markdown) == "first ![x](http://e)\n\nsecond :red[x]"
    assert all(line.startswith(">") for line in markdown.split("\n"))


IMAGES = [
    f"![x]({LEAK})",
    f"text ![x]({LEAK} \"title\") text",
    f"![x][r]\n\n[r]: {LEAK}",
    f"![r]\n\n[r]: {LEAK}",
    f"[![badge]({LEAK})](https://example.com)",
    f"| a | b |\n|---|---|\n| ![x]({LEAK}) | `x` |",
    f"- item ![x]({LEAK})\n  > ![y]({LEAK})",
    f"**![x]({LEAK})** *![y]({LEAK})*",
    # a backtick or dollar that does not open code in CommonMark must not hide an image
    f"[a](b`c) ![x]({LEAK}) `",
    f"| `a | ![x]({LEAK}) ` |\n|---|---|",
    f"<a title=\"`\"> ![x]({LEAK}) `",
    f"x `\n\n![a]({LEAK})\n\n`",
    f"$`$ ![x]({LEAK}) `",
    f"www.x.com/a`b ![i]({LEAK}) `",
    f"<img src=\"{LEAK}\">",
    f"<div>\n<img src=\"{LEAK}\">\n</div>",
    f"\\\\![x]({LEAK})",
]


@pytest.mark.parametrize("text", IMAGES)
def test_safe_markdown_never_makes_an_image(text):
    markdown = safe_markdown(text)
    assert "img" not in tags(markdown)
    assert "![" not in _outside_code(markdown).replace("\\![", "")


def test_safe_markdown_shows_an_image_as_its_alt_text():
    assert shown(safe_markdown(f"See ![the chart]({LEAK}).")) == "See [image: the chart]."


def test_safe_markdown_keeps_formatting():
    source = ("# Title\n\nSome **bold**, *italic*, ~~gone~~ and `code`.\n\n"
              "- one\n- two\n  1. nested\n\n> quoted\n\n"
              "| a | b |\n|:--|--:|\n| c | d |\n\n"
              "```python\nprint('x')\n```\n\n[docs](https://example.com/a_b)\n\n***")
    markdown = safe_markdown(source)
    assert {"h1", "strong", "em", "s", "code", "ul", "ol", "li", "blockquote", "table", "pre",
            "a", "hr"} <= tags(markdown)
    assert "print('x')" in shown(markdown)
    assert 'class="language-python"' in _html(markdown)
    assert 'href="https://example.com/a_b"' in _html(markdown)


def test_safe_markdown_keeps_code_exactly():
    source = "Use `vec![1, 2]` here:\n\n```rust\nlet v = vec![1, 2]; // :red[x] ![a](b)\n```"
    markdown = safe_markdown(source)
    assert "<code>vec![1, 2]</code>" in _html(markdown)
    assert shown(markdown).endswith("\n\nlet v = vec![1, 2]; // :red[x] ![a](b)")
    assert safe_markdown("``a ` b``").count("`") >= 3
    assert "<code>a ` b</code>" in _html(safe_markdown("``a ` b``"))


def test_safe_markdown_neutralises_html_directives_and_odd_links():
    markdown = safe_markdown("<b>x</b> :red[y] :smile: :material/home: [go](javascript:alert(1))"
                             " [mail](mailto:a@b.co)")
    assert shown(markdown) == ("<b>x</b> :red[y] :smile: :material/home: "
                               "[go](javascript:alert(1)) mail")
    assert tags(markdown) == {"p", "a"}
    assert 'href="mailto:a@b.co"' in _html(markdown)
    assert not DIRECTIVE.search(_outside_code(markdown))
    assert ":material/" not in markdown


def test_safe_markdown_survives_deep_nesting_and_size():
    assert shown(safe_markdown("> " * 200 + "deep")).endswith("deep")  # shown, if unformatted
    assert shown(safe_markdown("*" * 40 + "deep" + "*" * 40)) != ""
    big = ("Paragraph with **bold** and ![x](http://e/) and `code`.\n\n" * 2000)
    markdown = safe_markdown(big)  # its cost is benchmarked, not timed here
    assert shown(markdown).count("[image: x]") == 2000 and "img" not in tags(markdown)


def _html(markdown: str) -> str:
    from tests.rendered import _PARSER
    return _PARSER.render(markdown)


def _outside_code(markdown: str) -> str:
    """The Markdown less its code spans and link targets, where no directive is parsed."""
    return re.sub(r"`[^`]*`|\]\(<[^>]*>\)", "", markdown)


@pytest.mark.parametrize("text", [
    "How good is response A?", "Which response is better?", "Ada Nakamura (she/her), 10:30",
    "snake_case_name costs 5 + 3 = 8 points; a < b, R&D, 100%", "e-mail: ada@example.com"])
def test_literal_leaves_ordinary_text_alone(text):
    """Streamlit uses a label, unrendered, as the widget's accessible name: no stray escapes."""
    assert literal(text) == text


def test_literal_keeps_web_addresses_free_of_escapes():
    markdown = literal("see https://example.com/a_b~c?q=1&r=2 or www.example.org/~me")
    assert shown(markdown) == "see https://example.com/a_b~c?q=1&r=2 or www.example.org/~me"
    assert "https\\://" in markdown and "www\\." in markdown  # no autolink starts in the source
