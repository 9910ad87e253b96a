"""User, item and model text made safe for Streamlit elements that read Markdown.

Streamlit reads Markdown in far more places than `st.markdown`: titles, captions, alerts,
toasts, widget labels and help, radio options, tabs, expanders, metrics, buttons. Its renderer
(react-markdown with remark-gfm, remark-math, remark-directive and remark-emoji, plus its own
plugins) turns `![x](url)` into an image the browser fetches, `:red[…]` into colour,
`:material/x:` and `:streamlit:` into icons, `:smile:` into emoji, `$…$` into LaTeX and ` -> `
into an arrow. So every piece of text a user, an item or a model wrote goes through one of:

- `literal(text)`: shown exactly as typed, in the normal font.
- `safe_markdown(text)`: Markdown kept (emphasis, lists, tables, code, links), but images are
  shown as their alt text, raw HTML as text and directives, icons and shortcodes as typed.

Markup is neutralised with backslash escapes (CommonMark shows `\\*` as `*`, so no backslash is
visible) and, where Streamlit matches patterns on the text after parsing or on the raw source so
that an escape does not help (`:name:` shortcodes, `:material/`, the typographic arrows), with an
invisible word joiner (U+2060). `literal` escapes only the characters that could start markup
where they stand, because Streamlit also uses a widget's label, unrendered, as its accessible
name: "How good is response A?" stays as it is. `safe_markdown` escapes every punctuation mark
in the text it writes out, which is invisible there.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

JOINER = "\u2060"  # WORD JOINER: invisible and unbreakable, and no \w for Streamlit's patterns
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_SHORTCODE = re.compile(r":(?=[\w+-]+:|material/)")  # emoji, :streamlit:, material icons
_MARKUP = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|$)"              # a backslash that would escape or break the line
    r"|[`*~|$\[]"                            # code, emphasis, strikethrough, tables, math, links
    r"|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"   # underscore emphasis (never inside a word)
    r"|<(?=[A-Za-z/!?])|&(?=#?\w+;)"         # HTML, autolinks, character references
    r"|:(?=[A-Za-z/])|(?<=[Ww]{3})\."        # directives; http:// and www. (see _escape_line)
)
_LINE_START = re.compile(r"^(\u00a0*|\u00a0*\d{1,9}(?=[.)]))([-+=#>.)])")  # lists, headings…
_ARROW = re.compile(r"(?<!\S)([-<>~])(?=(?:->|-|=|>)(?!\S))")  # <-> -> <- -- >= <= ~=
_LEADING_SPACE = re.compile(r"^[ \t]+", re.MULTILINE)
_NESTING = 20
_PARSER = MarkdownIt("commonmark", {"maxNesting": _NESTING}).enable(["table", "strikethrough"])
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_LANGUAGE = re.compile(r"[\w+#.-]+")


def literal(text: object) -> str:
    """Markdown that shows `text` exactly as typed: line breaks and indentation kept."""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    value = _LEADING_SPACE.sub(lambda m: "\u00a0" * len(m.group().expandtabs(4)), value)
    return "  \n".join(_escape_line(line) for line in value.split("\n"))


def quoted(text: object) -> str:
    """`text` shown literally inside a block quote, however many lines it has."""
    return "> " + literal(text).replace("\n", "\n> ")


def safe_markdown(text: object) -> str:
    """`text`'s Markdown rewritten so nothing in it loads a resource or restyles the page."""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    tokens = _PARSER.parse(value)
    if _deepest(tokens) >= _NESTING - 1:
        return literal(value)  # the parser drops what nests deeper: show it all, unformatted
    return _blocks(SyntaxTreeNode(tokens).children).strip("\n")


def _deepest(tokens: list) -> int:
    return max((max(t.level, _deepest(t.children or [])) for t in tokens), default=0)


def _escape_line(line: str) -> str:
    """One line with only what could start markup escaped.

    A web address stays unescaped inside: Streamlit's renderer would show an escape within an
    autolinked address as a backslash, so its start (`:` of `http://`, `.` of `www.`) is escaped
    instead, and the renderer links the plain text afterwards.
    """
    line = _MARKUP.sub(lambda m: "\\" + m.group(), _joined(line))
    return _LINE_START.sub(r"\1\\\2", line)


def _escape(text: str) -> str:
    """Text with every punctuation mark escaped (for `safe_markdown`, where none is seen)."""
    return _PUNCTUATION.sub(r"\\\1", _joined(text))


def _joined(text: str) -> str:
    """Word joiners where Streamlit matches shortcodes, icons and arrows in the text."""
    return _ARROW.sub(lambda m: m.group(1) + JOINER, _SHORTCODE.sub(":" + JOINER, text))


def _blocks(nodes: list[SyntaxTreeNode], tight: bool = False) -> str:
    return ("\n" if tight else "\n\n").join(_block(node, tight) for node in nodes)


def _block(node: SyntaxTreeNode, tight: bool) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children[0])
    if kind == "heading":
        return "#" * int(node.tag[1]) + " " + _inline(node.children[0])
    if kind == "blockquote":
        return _prefix(_blocks(node.children), "> ", "> ")
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind in ("fence", "code_block"):
        return _fence(node.content, node.info if kind == "fence" else "")
    if kind == "hr":
        return "***"
    if kind == "table":
        return _table(node)
    return literal(node.content.rstrip("\n"))  # html_block and anything unknown: as text


def _list(node: SyntaxTreeNode) -> str:
    tight = any(p.hidden for item in node.children for p in item.children)
    start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else None
    items = []
    for number, item in enumerate(node.children, start or 0):
        marker = f"{number}. " if start is not None else "- "
        body = _blocks(item.children, tight)
        items.append(_prefix(body, marker, " " * len(marker)) if body else marker.rstrip())
    return ("\n" if tight else "\n\n").join(items)


def _prefix(body: str, first: str, rest: str) -> str:
    """Indent a block's lines under a list marker or a quote sign."""
    lines = body.split("\n")
    head = first + lines[0]
    tail = [(rest + line) if line or rest.strip() else line for line in lines[1:]]
    return "\n".join([head.rstrip() if not lines[0] else head, *tail])


def _fence(content: str, info: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    match = _LANGUAGE.match(info.strip())
    language = match.group() if match else ""
    if content and not content.endswith("\n"):
        content += "\n"
    return f"{fence}{language}\n{content}{fence}"


def _table(node: SyntaxTreeNode) -> str:
    rows = [row for part in node.children for row in part.children]
    header = rows[0].children
    rule = [_alignment(cell.attrs.get("style", "")) for cell in header]
    lines = [_row(rows[0]), "| " + " | ".join(rule) + " |"] + [_row(row) for row in rows[1:]]
    return "\n".join(lines)


def _alignment(style: object) -> str:
    return {"text-align:left": ":--", "text-align:right": "--:",
            "text-align:center": ":-:"}.get(str(style), "---")


def _row(row: SyntaxTreeNode) -> str:
    cells = [_inline(cell.children[0], in_table=True) if cell.children else ""
             for cell in row.children]
    return "| " + " | ".join(cells) + " |"


def _inline(node: SyntaxTreeNode, in_table: bool = False) -> str:
    return "".join(_span(child, in_table) for child in node.children)


def _span(node: SyntaxTreeNode, in_table: bool) -> str:
    kind = node.type
    if kind == "text":
        return _escape(node.content)
    if kind == "softbreak":
        return "\n"
    if kind == "hardbreak":
        return "\\\n"
    if kind == "code_inline":
        return _code_span(node.content, in_table)
    inner = "".join(_span(child, in_table) for child in node.children)
    if kind == "em":
        return f"*{inner}*"
    if kind == "strong":
        return f"**{inner}**"
    if kind == "s":
        return f"~~{inner}~~"
    if kind == "link":
        return _link(inner, str(node.attrs.get("href", "")))
    if kind == "image":
        return _escape("[image: ") + inner + _escape("]")
    return _escape(node.content)  # html_inline and anything unknown: as text


def _code_span(content: str, in_table: bool) -> str:
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * (longest + 1)
    if content.startswith("`") or content.endswith("`") or (
            content.startswith(" ") and content.endswith(" ") and content.strip()):
        content = f" {content} "
    if in_table:
        content = content.replace("|", "\\|")  # GFM splits cells at a pipe even inside code
    return f"{fence}{content}{fence}"


def _link(inner: str, href: str) -> str:
    """A link to a web or mail address; any other target is shown as its text alone."""
    if not href.lower().startswith(_LINK_SCHEMES) or re.search(r"[\s<>]", href):
        return inner
    return f"[{inner}](<{href}>)"
