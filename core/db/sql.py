"""Quorum's SQL, as written for DuckDB, turned into what PostgreSQL runs.

Core writes one SQL for both engines: the common subset (array_agg, `= ANY(?)`,
`percentile_cont … WITHIN GROUP`, `extract(epoch FROM …)`, …) with DuckDB's placeholders (`?`
and `$name`). What differs is only spelling, and it is translated here, token by token, never
inside a string literal or a quoted name:

- placeholders: `?` becomes `%s`, `$name` becomes `%(name)s`, and every other `%` becomes `%%`;
- JSON: the `JSON` type is `JSONB`, `json_object` is `jsonb_build_object`,
  `json_group_array` is `jsonb_agg`, `to_json` is `to_jsonb`;
- types: `DOUBLE` is `DOUBLE PRECISION`, and an empty list `[]` (a column default) is `'{}'`.
"""

from __future__ import annotations

import re
from functools import lru_cache

# One alternation, tried left to right: quoted text is copied as it is.
_TOKENS = re.compile(r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*)
  | (?P<named>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<qmark>\?)
  | (?P<percent>%)
  | (?P<empty_list>(?<![\w\]\)])\[\s*\])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_WORDS = {
    "json": "JSONB",
    "json_object": "jsonb_build_object",
    "json_group_array": "jsonb_agg",
    "to_json": "to_jsonb",
}
_DOUBLE_ALONE = re.compile(r"\s+PRECISION\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def to_postgres(sql: str, placeholders: bool = True) -> str:
    """The PostgreSQL spelling of SQL written for DuckDB (see the module's note).

    Without `placeholders` (a script run without parameters) `?`, `$name` and `%` stay as they are.
    """
    out: list[str] = []
    position = 0
    for match in _TOKENS.finditer(sql):
        out.append(sql[position:match.start()])
        position = match.end()
        kind, text = match.lastgroup, match.group()
        if kind in ("named", "qmark", "percent") and not placeholders:
            out.append(text)
        elif kind in ("string", "quoted", "comment"):
            out.append(text.replace("%", "%%"))  # psycopg reads % everywhere in a statement
        elif kind == "named":
            out.append(f"%({text[1:]})s")
        elif kind == "qmark":
            out.append("%s")
        elif kind == "percent":
            out.append("%%")
        elif kind == "empty_list":
            out.append("'{}'")
        elif kind == "word" and text.lower() == "double" and not _DOUBLE_ALONE.match(
                sql, match.end()):
            out.append("DOUBLE PRECISION")
        elif kind == "word":
            out.append(_WORDS.get(text.lower(), text))
        else:
            out.append(text)
    out.append(sql[position:])
    return "".join(out)


def numbered(sql: str, params: dict) -> tuple[str, list]:
    """The PostgreSQL spelling with `$name` as `$1, $2 …` (for ADBC), and the values in order."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group()[1:]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    out: list[str] = []
    position = 0
    spelled = to_postgres(sql, placeholders=False)
    for match in _TOKENS.finditer(spelled):
        out.append(spelled[position:match.start()])
        position = match.end()
        out.append(number(match) if match.lastgroup == "named" else match.group())
    out.append(spelled[position:])
    return "".join(out), [params[n] for n in names]
