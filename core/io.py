"""Moving data in and out: item import (CSV, JSONL, Parquet) and dataset export.

Imports are all or nothing: every row is checked before any is written, and the first problems
found are reported with their row number and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from core import campaigns, db, revolt, revolt_review, workflow
from core.db import Connection, reading, writing
from core.errors import Conflict, Invalid
from core.import_files import DEFAULT_LIMITS, ImportLimits, open_file, read_errors, where
from core.users import User, require_role

FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".json": "jsonl", ".parquet": "parquet"}
EXPORT_FORMATS = ("csv", "jsonl", "parquet")
MAX_PROBLEMS = 10


@dataclass(frozen=True)
class Mapping:
    """Which file column fills each payload field, and the optional id and gold columns."""
    fields: dict[str, str]
    external_id: str | None = None
    gold: str | None = None


@dataclass(frozen=True)
class ImportReport:
    imported: int
    columns: list[str] = field(default_factory=list)


def file_format(path: str | Path, declared: str | None = None) -> str:
    """The import format of a file, from `declared` or its extension."""
    if declared:
        if declared not in EXPORT_FORMATS:
            raise Invalid(f"Unknown format {declared!r}; use csv, jsonl or parquet.")
        return declared
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise Invalid(f"Cannot tell the format of {Path(path).name!r}: name it .csv, .jsonl or "
                      ".parquet.")
    return fmt


def columns(conn: Connection, path: str | Path, fmt: str | None = None,
            limits: ImportLimits = DEFAULT_LIMITS) -> list[str]:
    """The column names of an import file, for mapping them to payload fields."""
    with db.scratch() as files:
        return list(open_file(files, Path(path), file_format(path, fmt), limits).columns)


def import_items(conn: Connection, actor: User, campaign_id: int,
                 path: str | Path, mapping: Mapping, now: datetime,
                 fmt: str | None = None, limits: ImportLimits = DEFAULT_LIMITS
                 ) -> ImportReport:
    """Check every row of a file against the mapping, then add all of them or none.

    `limits` bound what the file may cost; they are checked before it is parsed.
    """
    campaign = campaigns.get(conn, campaign_id)
    campaigns.require_owner(actor, campaign)
    if campaign.status == "closed":
        raise Conflict("Items cannot be added to a closed campaign.")
    spec = campaigns.spec(conn, campaign_id, campaign.spec_version)
    _check_mapping_covers_spec(spec, mapping)
    gold_question = _gold_question(spec) if mapping.gold else None
    fmt = file_format(path, fmt)
    with db.scratch() as files:
        source = open_file(files, Path(path), fmt, limits)
        file_columns = list(source.columns)
        with read_errors(fmt, limits):  # rows past the first are parsed only here
            mapped = _mapped_rows(source, mapping)
        if mapped.num_rows == 0:
            raise Invalid("The file has a header but no items.")
        problems = _row_problems(files, mapped, mapping, gold_question, fmt)
        rows = _item_rows(files, mapped, mapping, gold_question)
    problems = _already_imported(conn, rows, mapping, campaign_id, fmt, problems)
    if problems:
        shown = " (the first ones are listed)" if len(problems) >= MAX_PROBLEMS else ""
        raise Invalid(f"Nothing was imported: the file has problems{shown}.", problems)

    def work(cur: db.Cursor) -> int:
        with db.frame_table(cur, "import_rows", rows):
            cur.execute("INSERT INTO items (campaign_id, payload, gold, external_id, created_at) "
                        "SELECT ?, payload::JSON, gold::JSON, external_id, ? FROM import_rows "
                        "ORDER BY row_no", [campaign_id, now])
        return rows.num_rows

    return ImportReport(writing(conn, work), file_columns)


def _item_rows(files, mapped: pa.Table, mapping: Mapping, gold_question: dict | None
               ) -> pa.Table:
    """Each row's payload and gold answer as JSON text, ready for either database."""
    keys = list(mapping.fields)
    payload = "json_object(" + ", ".join(f"?, f{i}" for i in range(len(keys))) + ")"
    gold = "NULL"
    if gold_question:
        cast = "INTEGER" if gold_question["type"] == "rating" else "VARCHAR"
        gold = f"CASE WHEN gold IS NULL THEN NULL ELSE json_object(?, gold::{cast}) END"
    external_id = "external_id" if mapping.external_id else "NULL::VARCHAR"
    files.register("import_rows", mapped)
    try:
        return files.sql(
            f"SELECT row_no, {payload}::VARCHAR AS payload, {gold}::VARCHAR AS gold, "
            f"{external_id} AS external_id FROM import_rows ORDER BY row_no",
            params=[*keys, *([gold_question["id"]] if gold_question else [])]).to_arrow_table()
    finally:
        files.unregister("import_rows")


def _check_mapping_covers_spec(spec: dict, mapping: Mapping) -> None:
    needed = workflow.payload_fields(spec)
    unmapped = [f for f in needed if not mapping.fields.get(f)]
    if unmapped:
        raise Invalid("Map a file column to every field the form shows.",
                      {f"field {f}": "choose the column that holds it" for f in unmapped})
    if not mapping.fields:
        raise Invalid("Map at least one column to a payload field.")


def _gold_question(spec: dict) -> dict:
    for question in workflow.questions(spec):
        if question["type"] in ("single_choice", "rating"):
            return question
    raise Invalid("Gold answers need a single-choice or rating question in the form.",
                  {"gold": "this form has no question a gold answer could check"})


def _mapped_rows(source: duckdb.DuckDBPyRelation, mapping: Mapping) -> pa.Table:
    """The mapped columns under names of our own (f0, f1, external_id, gold), numbered."""
    wanted = [*mapping.fields.values(), *(c for c in (mapping.external_id, mapping.gold) if c)]
    missing = [c for c in dict.fromkeys(wanted) if c not in source.columns]
    if missing:
        raise Invalid(f"The file has no column {', '.join(map(repr, missing))}; its columns are "
                      f"{', '.join(map(repr, source.columns))}.",
                      {"mapping": "pick columns that exist in the file"})
    # Column names come from the file, so they enter only as expressions, never as SQL text.
    exprs = [duckdb.ColumnExpression(col).alias(f"f{i}")
             for i, col in enumerate(mapping.fields.values())]
    if mapping.external_id:
        exprs.append(duckdb.ColumnExpression(mapping.external_id).cast(duckdb.sqltype("VARCHAR"))
                     .alias("external_id"))
    if mapping.gold:
        exprs.append(duckdb.ColumnExpression(mapping.gold).alias("gold"))
    return source.select(*exprs).query(
        "import_source", "SELECT row_number() OVER () AS row_no, * FROM import_source"
    ).to_arrow_table()


def _row_problems(files, rows: pa.Table, mapping: Mapping, gold_question: dict | None,
                  fmt: str) -> dict[str, str]:
    """What is wrong inside the file itself: empty fields, ids, gold answers."""
    problems: dict[str, str] = {}
    add = _adder(problems, fmt)
    files.register("import_rows", rows)
    try:
        for i, (name, column) in enumerate(mapping.fields.items()):
            for (row,) in files.execute(
                    f"SELECT row_no FROM import_rows WHERE f{i} IS NULL "
                    f"OR trim(f{i}::VARCHAR) = '' ORDER BY row_no LIMIT {MAX_PROBLEMS}"
                    ).fetchall():
                add(row, f"field {name!r} (column {column!r}) is empty")
        if mapping.external_id:
            _id_problems(files, add, mapping.external_id)
        if gold_question:
            _gold_problems(files, add, gold_question, mapping.gold)
    finally:
        files.unregister("import_rows")
    return problems


def _adder(problems: dict[str, str], fmt: str):
    def add(row: int, what: str) -> None:
        place = where(row, fmt)
        if place in problems:
            problems[place] += f"; {what}"  # a row may break several rules: show them all
        elif len(problems) < MAX_PROBLEMS:
            problems[place] = what
    return add


def _id_problems(files, add, column: str) -> None:
    for (row,) in files.execute(
            "SELECT row_no FROM import_rows WHERE external_id IS NULL OR trim(external_id) = '' "
            f"ORDER BY row_no LIMIT {MAX_PROBLEMS}").fetchall():
        add(row, f"the external id (column {column!r}) is empty")
    for external_id, rows in files.execute(
            "SELECT external_id, list(row_no ORDER BY row_no) FROM import_rows "
            "WHERE trim(external_id) <> '' GROUP BY external_id HAVING count(*) > 1 "
            f"ORDER BY min(row_no) LIMIT {MAX_PROBLEMS}").fetchall():
        add(rows[1], f"duplicate external id {external_id!r}, also on row {rows[0]}")


def _already_imported(conn: db.Connection, rows: pa.Table, mapping: Mapping, campaign_id: int,
                      fmt: str, problems: dict[str, str]) -> dict[str, str]:
    """`problems`, with the rows whose external id the campaign already has."""
    if not mapping.external_id:
        return problems
    problems = dict(problems)
    add = _adder(problems, fmt)
    ids = rows.select(["row_no", "external_id"])
    with reading(conn) as cur, db.frame_table(cur, "import_ids", ids):
        for row, external_id in cur.execute(
                "SELECT r.row_no, r.external_id FROM import_ids r "
                "WHERE r.external_id IN (SELECT external_id FROM items WHERE campaign_id = ?) "
                f"ORDER BY r.row_no LIMIT {MAX_PROBLEMS}", [campaign_id]).fetchall():
            add(row, f"external id {external_id!r} is already in this campaign")
    return problems


def _gold_problems(files, add, question: dict, column: str) -> None:
    if question["type"] == "rating":
        bad = files.execute(
            "SELECT row_no, gold::VARCHAR FROM import_rows WHERE gold IS NOT NULL AND "
            "coalesce(TRY_CAST(gold AS INTEGER) NOT BETWEEN ? AND ?, true) "
            f"ORDER BY row_no LIMIT {MAX_PROBLEMS}", [question["min"], question["max"]])
        allowed = f"a whole number from {question['min']} to {question['max']}"
    else:
        bad = files.execute(
            "SELECT row_no, gold::VARCHAR FROM import_rows WHERE gold IS NOT NULL AND "
            "NOT list_contains(?::VARCHAR[], gold::VARCHAR) "
            f"ORDER BY row_no LIMIT {MAX_PROBLEMS}", [[str(o) for o in question["options"]]])
        allowed = "one of " + ", ".join(map(str, question["options"]))
    for row, value in bad.fetchall():
        add(row, f"gold answer {value!r} (column {column!r}) must be {allowed}")


# The columns of an answers export, documented in the README.
_ANSWERS_SQL = """
    SELECT r.id AS response_id, r.campaign_id, c.title AS campaign, r.item_id, i.external_id,
           u.username AS expert, r.spec_version, r.answer::{json} AS answer,
           i.payload::{json} AS payload, r.started_at, r.submitted_at, r.duration_s,
           r.status AS review_status, rv.reason AS review_reason, rv.acted_at AS reviewed_at,
           reviewer.username AS reviewed_by, r.too_fast, ev.edited_at,
           lab.ds_label AS aggregated_label, lab.ds_confidence AS aggregated_confidence,
           lab.majority_label
    FROM responses r
    LEFT JOIN item_labels lab ON lab.item_id = r.item_id
    JOIN items i ON i.id = r.item_id
    JOIN campaigns c ON c.id = r.campaign_id
    JOIN users u ON u.id = r.user_id
    LEFT JOIN (SELECT response_id, max(acted_at) AS acted_at,
                      (array_agg(reason ORDER BY acted_at DESC))[1] AS reason,
                      (array_agg(reviewer_id ORDER BY acted_at DESC))[1] AS reviewer_id
               FROM review_actions GROUP BY response_id) rv ON rv.response_id = r.id
    LEFT JOIN users reviewer ON reviewer.id = rv.reviewer_id
    LEFT JOIN (SELECT response_id, max(replaced_at) AS edited_at FROM answer_versions
               WHERE change = 'edit' AND ($campaign::INTEGER IS NULL OR campaign_id = $campaign)
               GROUP BY response_id) ev ON ev.response_id = r.id
    WHERE $campaign::INTEGER IS NULL OR r.campaign_id = $campaign
    ORDER BY r.id
"""

_ITEMS_SQL = """
    SELECT i.id AS item_id, i.campaign_id, i.external_id, i.payload::{json} AS payload,
           i.gold::{json} AS gold, i.response_count AS answers, c.overlap AS answers_wanted,
           i.response_count >= c.overlap AS complete, i.created_at,
           lab.question_id AS aggregated_question, lab.ds_label AS aggregated_label,
           lab.ds_confidence AS aggregated_confidence, lab.majority_label,
           lab.majority_share
    FROM items i JOIN campaigns c ON c.id = i.campaign_id
    LEFT JOIN item_labels lab ON lab.item_id = i.id
    WHERE $campaign::INTEGER IS NULL OR i.campaign_id = $campaign
    ORDER BY i.id
"""

# What each export reads, table by table (`db.copy_to_file`'s parts): on PostgreSQL these rows
# are fetched narrow, each table once (an item's payload once, not once per answer), and DuckDB
# joins them. JSON travels as text.
_IN_CAMPAIGN = "$campaign::INTEGER IS NULL OR campaign_id = $campaign"
_LABELS_PART = ("item_id, question_id, majority_label, majority_share, ds_label, ds_confidence",
                _IN_CAMPAIGN)
_CAMPAIGNS_PART = ("id, title, overlap", "$campaign::INTEGER IS NULL OR id = $campaign")
_PARTS = {  # table: (columns, rows)
    "answers": {
        "responses": ("id, item_id, campaign_id, user_id, spec_version, answer::VARCHAR AS answer,"
                      " started_at, submitted_at, duration_s, status, too_fast", _IN_CAMPAIGN),
        "items": ("id, external_id, payload::VARCHAR AS payload", _IN_CAMPAIGN),
        "item_labels": _LABELS_PART,
        "campaigns": _CAMPAIGNS_PART,
        "users": ("id, username", "true"),
        "review_actions": ("response_id, reviewer_id, reason, acted_at",
                           "$campaign::INTEGER IS NULL OR response_id IN "
                           "(SELECT id FROM responses WHERE campaign_id = $campaign)"),
        "answer_versions": ("response_id, campaign_id, change, replaced_at", _IN_CAMPAIGN),
    },
    "items": {
        "items": ("id, campaign_id, external_id, payload::VARCHAR AS payload, "
                  "gold::VARCHAR AS gold, response_count, created_at", _IN_CAMPAIGN),
        "item_labels": _LABELS_PART,
        "campaigns": _CAMPAIGNS_PART,
    },
}

_COPY_FORMATS = {"csv": "FORMAT csv, HEADER true", "jsonl": "FORMAT json",
                 "parquet": "FORMAT parquet, COMPRESSION zstd"}


def export(conn: Connection, actor: User, what: str, campaign_id: int | None,
           path: str | Path, fmt: str) -> int:
    """Write a campaign's answers, items or team results (`revolt`) to a file.

    Answers and items of all campaigns at once (campaign None) are for admins only.
    """
    if campaign_id is None and what == "revolt":
        raise Invalid("Export team results one campaign at a time.")
    if campaign_id is None:
        require_role(actor, "admin")
    else:
        campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    if fmt not in _COPY_FORMATS:
        raise Invalid(f"Unknown format {fmt!r}; use csv, jsonl or parquet.")
    # JSON Lines keeps answers and payloads as nested objects; the others store JSON text.
    json_type = "JSON" if fmt == "jsonl" else "VARCHAR"
    parts = None
    if what == "revolt":
        revolt.require_team_campaign(campaigns.get(conn, campaign_id))
        query = revolt_review.export_sql(json_type)
    else:
        parts = _PARTS.get(what)
        query = {"answers": _ANSWERS_SQL, "items": _ITEMS_SQL}.get(what)
        if query is None:
            raise Invalid(f"Unknown export {what!r}; use answers, items or revolt.")
        query = query.format(json=json_type)
    return db.copy_to_file(conn, query, {"campaign": campaign_id}, Path(path),
                           _COPY_FORMATS[fmt], rewrite=_without_formulas if fmt == "csv" else None,
                           parts=parts)


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
_FORMULA_START = r"^[=+\-@\t\r]"


def _without_formulas(columns: list[tuple[str, str]], query: str) -> str:
    """The query with each text cell a spreadsheet would run as a formula prefixed by a quote."""
    exprs = []
    for name, kind in columns:
        column = '"' + name.replace('"', '""') + '"'  # names of our own queries, never input
        if str(kind) in ("VARCHAR", "JSON"):
            text = f"{column}::VARCHAR"
            exprs.append(f"CASE WHEN regexp_matches({text}, '{_FORMULA_START}') "
                         f"THEN chr(39) || {text} ELSE {text} END AS {column}")
        else:
            exprs.append(column)
    return f"SELECT {', '.join(exprs)} FROM ({query}) AS exported"
