"""What a Markdown string looks like once rendered, read with a real CommonMark parser.

Pages hand Streamlit Markdown (titles, captions, labels are Markdown too), so a test that asks
"does the page show this text?" renders the Markdown first, as the browser does, and compares
the words a reader sees. The parser is markdown-it (CommonMark with GFM tables and
strikethrough); Streamlit's own extras (directives, emoji, icons) are checked in the browser.
"""

from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt

from ui.text import JOINER

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote", "tr"}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.in_pre = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        self.tags.append(tag)
        self.in_pre += tag == "pre"
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS and self.parts:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        self.in_pre -= tag == "pre"

    def handle_data(self, data: str) -> None:
        if not self.in_pre:  # outside code, a line break in the HTML is a space on screen
            data = data.replace("\n", " ") if data.strip() else ""
        self.parts.append(data)


def read(markdown: object) -> _Reader:
    """Render `markdown` to HTML and read it back: its text and the tags it used."""
    reader = _Reader()
    reader.feed(_PARSER.render(str(markdown)))
    return reader


def shown(markdown: object) -> str:
    """The text a reader sees: no markup, invisible joiners dropped, hard breaks as newlines."""
    text = "".join(read(markdown).parts).replace(JOINER, "").strip("\n")
    lines = (line.strip(" ").replace("\u00a0", " ") for line in text.split("\n"))
    return "\n".join(lines)


def tags(markdown: object) -> set[str]:
    """The HTML elements `markdown` renders to."""
    return set(read(markdown).tags)
