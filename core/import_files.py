"""Reading an import file as a relation, within limits checked before it is parsed.

What a file may cost is bounded up front: its size from the file system, its columns from
the header (CSV), the first lines (JSON Lines) or the footer (Parquet), and each line by the
reader itself. Everything DuckDB refuses comes back as a sentence naming the row to fix.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from core.errors import Invalid

MB = 1_000_000
# The lines DuckDB's JSON reader infers columns from (its sample_size), and so the ones that
# decide what the reader will cost.
JSON_SAMPLE_LINES = 20_480


@dataclass(frozen=True)
class ImportLimits:
    """What one import file may cost; the app sets them from QUORUM_IMPORT_* settings."""
    max_megabytes: float = 500
    max_columns: int = 1000
    max_line_megabytes: float = 32

    @property
    def max_line_bytes(self) -> int:
        return int(self.max_line_megabytes * MB)


DEFAULT_LIMITS = ImportLimits()


def where(row: int, fmt: str) -> str:
    """How a problem's place is named: rows and lines as a person counts them in the file."""
    if fmt == "csv":
        return f"row {row} (line {row + 1})"
    return f"line {row}" if fmt == "jsonl" else f"row {row}"


def open_file(files: duckdb.DuckDBPyConnection, path: Path, fmt: str,
              limits: ImportLimits) -> duckdb.DuckDBPyRelation:
    """The file as a relation of `files` (an in-memory DuckDB, see `db.scratch`), refused with
    a sentence if it breaks a limit or cannot be read."""
    _check_size(path, limits)
    with read_errors(fmt, limits):
        if fmt == "csv":
            rel = _read_csv(files, path, limits)
        elif fmt == "jsonl":
            _check_json_lines(path, limits)
            rel = files.read_json(str(path), format="newline_delimited",
                                maximum_object_size=limits.max_line_bytes,
                                map_inference_threshold=-1)  # columns are bounded above
        else:
            _check_parquet(path, limits)
            rel = files.read_parquet(str(path))
        rel.limit(1).fetchall()  # make the reader parse now, so errors surface here
    return rel


@contextmanager
def read_errors(fmt: str, limits: ImportLimits) -> Iterator[None]:
    """Turn DuckDB's read errors, raised while a file is parsed, into sentences."""
    try:
        yield
    except duckdb.Error as error:
        raise Invalid(_read_problem(str(error), fmt, limits)) from None


def _check_size(path: Path, limits: ImportLimits) -> None:
    if not path.is_file():
        raise Invalid(f"The file {str(path)!r} does not exist: check its name and folder.")
    size = path.stat().st_size
    if size == 0:
        raise Invalid("The file is empty: it needs a header row and at least one item.")
    if size > limits.max_megabytes * MB:
        raise Invalid(f"The file is {size / MB:,.1f} MB; an import may be at most "
                      f"{limits.max_megabytes:g} MB (QUORUM_IMPORT_MAX_MB): split it into "
                      "smaller files.")


def _check_columns(count: int, limits: ImportLimits, at_least: bool = False) -> None:
    if count > limits.max_columns:
        raise Invalid(f"The file has {'at least ' if at_least else ''}{count:,} columns; an "
                      f"import may have at most {limits.max_columns:,} "
                      "(QUORUM_IMPORT_MAX_COLUMNS): keep only the columns the items need.")


def _line_too_long(place: str, limits: ImportLimits) -> Invalid:
    return Invalid(f"Nothing was imported: {place} is longer than "
                   f"{limits.max_line_megabytes:g} MB, the limit on one line "
                   "(QUORUM_IMPORT_MAX_LINE_MB): shorten it or split the value.")


def _not_utf8(where_: str) -> Invalid:
    return Invalid(f"The file is not UTF-8 text{where_}. Save it with UTF-8 encoding and try "
                   "again.")


def _read_csv(cur: duckdb.DuckDBPyConnection, path: Path,
              limits: ImportLimits) -> duckdb.DuckDBPyRelation:
    names, delimiter = _csv_header(path, limits)
    # The dialect is fixed rather than sniffed: the sniffer reads a 200,000-column file for
    # minutes, and takes an unclosed quote for a literal character.
    return cur.read_csv(str(path), header=True, auto_detect=False,
                        columns={name: "VARCHAR" for name in names}, delimiter=delimiter,
                        quotechar='"', escapechar='"', strict_mode=True,
                        max_line_size=limits.max_line_bytes)


def _csv_header(path: Path, limits: ImportLimits) -> tuple[list[str], str]:
    """The header's column names and the delimiter, read from the first line alone."""
    with path.open("rb") as source:
        line = source.readline(limits.max_line_bytes + 1)
    if len(line.rstrip(b"\r\n")) > limits.max_line_bytes:
        raise _line_too_long("the header (line 1)", limits)
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise _not_utf8(" (around line 1)") from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" else max(",;\t|", key=text.count)
    _check_columns(text.count(delimiter) + 1, limits)  # an upper bound, before any parsing
    names = next(csv.reader([text], delimiter=delimiter), [])
    names = [name or f"column{i}" for i, name in enumerate(names)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise Invalid(f"The header names {', '.join(map(repr, twice))} more than once: give "
                      "each column its own name.")
    return names, delimiter


def _check_json_lines(path: Path, limits: ImportLimits) -> None:
    """Refuse what is not one object per line, and too many keys, from the lines sampled."""
    keys: dict[str, None] = {}
    with path.open("rb") as source:
        if source.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
            raise Invalid("The file is one JSON array; JSON Lines wants one JSON object per "
                          "line, each item on its own line (jq -c '.[]' converts an array).")
        source.seek(0)
        for number in range(1, JSON_SAMPLE_LINES + 1):
            line = source.readline(limits.max_line_bytes + 1)
            if not line:
                return
            if len(line.rstrip(b"\r\n")) > limits.max_line_bytes:
                raise _line_too_long(f"line {number}", limits)
            if line.strip():
                keys.update(dict.fromkeys(_json_object(line, number)))
                _check_columns(len(keys), limits, at_least=True)


def _json_object(line: bytes, number: int) -> dict:
    try:
        value = json.loads(line)
    except UnicodeDecodeError:
        raise _not_utf8(f" (around line {number})") from None
    except ValueError as error:
        raise Invalid(f"The file is not valid JSON Lines (around line {number}): "
                      f"{error.args[0].split(':')[0].lower()}.") from None
    if not isinstance(value, dict):
        raise Invalid(f"Nothing was imported: line {number} holds {json.dumps(value)[:40]}, "
                      'not an object: JSON Lines wants one JSON object per line, such as '
                      '{"text": "…"}.')
    return value


def _check_parquet(path: Path, limits: ImportLimits) -> None:
    try:
        count = pq.read_metadata(path).num_columns  # from the footer, no data read
    except (OSError, ValueError):
        raise Invalid("The file is not a readable Parquet file.") from None
    _check_columns(count, limits)


def _read_problem(message: str, fmt: str, limits: ImportLimits) -> str:
    if fmt == "csv":
        found = _csv_problem(message, limits)
        if found:
            return found
    line = re.search(r"[Ll]ine:? (\d+)", message)
    around = f" (around line {line[1]})" if line else ""
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return str(_not_utf8(around))
    if fmt == "jsonl" and ("JSON" in message or "json" in message):
        detail = re.search(r"line \d+: ([^.\n]+)", message)
        return (f"The file is not valid JSON Lines{around}: "
                f"{detail[1] if detail else 'each line must be one JSON object'}.")
    if fmt == "parquet":
        return "The file is not a readable Parquet file."
    return f"The file could not be read{around}: {message.splitlines()[0]}"


def _csv_problem(message: str, limits: ImportLimits) -> str | None:
    """DuckDB's CSV errors as sentences; its "Line" counts records, the header being 1."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    if not line:
        return None
    place = where(int(line[1]) - 1, "csv")
    if "Maximum line size" in message:
        return str(_line_too_long(place, limits))
    if "unterminated quote" in message:
        return (f"Nothing was imported: {place} has a quote (\") that is never closed: close "
                "it, or write a quote inside a value as two (\"\").")
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counts:
        return (f"Nothing was imported: {place} has {counts[2]} fields; the header has "
                f"{counts[1]}. Give every row one value per column (an empty one is fine).")
    return None
