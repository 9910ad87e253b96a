"""Item import (all or nothing, each format, malformed files) and export round-trips."""

import json
from datetime import timedelta

import duckdb  # reads the exported files back
import pandas as pd
import pytest

from core import assign, io, responses, review
from core.errors import Invalid
from tests.conftest import CLASSIFY, NOW, table_counts

ROWS = pd.DataFrame({"id": ["r1", "r2", "r3"],
                     "review": ["Great phone", "Broke in a week", "It is a phone"],
                     "label": ["positive", "negative", None]})
MAPPING = io.Mapping(fields={"text": "review"}, external_id="id", gold="label")


def write(tmp_path, frame: pd.DataFrame, fmt: str):
    path = tmp_path / f"items.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.fixture
def draft(make_campaign):
    return make_campaign(n_items=0, status="draft", spec=CLASSIFY)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_format_imports_payload_ids_and_gold(conn, requester, draft, tmp_path, fmt):
    path = write(tmp_path, ROWS, fmt)
    assert io.columns(conn, path) == ["id", "review", "label"]
    report = io.import_items(conn, requester, draft.id, path, MAPPING, NOW)
    assert report.imported == 3
    stored = conn.execute("SELECT external_id, payload, gold FROM items ORDER BY id").fetchall()
    assert [(e, json.loads(p), g and json.loads(g)) for e, p, g in stored] == [
        ("r1", {"text": "Great phone"}, {"label": "positive"}),
        ("r2", {"text": "Broke in a week"}, {"label": "negative"}),
        ("r3", {"text": "It is a phone"}, None)]


def refused(conn, requester, campaign, path, mapping=MAPPING, **limits) -> Invalid:
    before = table_counts(conn)
    with pytest.raises(Invalid) as error:
        io.import_items(conn, requester, campaign.id, path, mapping, NOW,
                        limits=io.ImportLimits(**limits))
    assert table_counts(conn) == before, "a refused import must change nothing"
    return error.value


def test_a_bad_row_is_reported_by_row_and_field_and_nothing_is_imported(conn, requester, draft,
                                                                         tmp_path):
    frame = ROWS.copy()
    frame.loc[1, "review"] = "  "
    error = refused(conn, requester, draft, write(tmp_path, frame, "csv"))
    assert "Nothing was imported" in str(error)
    assert error.problems == {"row 2 (line 3)": "field 'text' (column 'review') is empty"}


def test_duplicate_ids_in_the_file_and_in_the_campaign_are_reported(conn, requester, draft,
                                                                    tmp_path):
    io.import_items(conn, requester, draft.id, write(tmp_path, ROWS, "parquet"), MAPPING, NOW)
    again = pd.DataFrame({"id": ["r9", "r9", "r1"], "review": ["a", "b", "c"],
                          "label": [None] * 3})
    error = refused(conn, requester, draft, write(tmp_path, again, "jsonl"))
    assert error.problems == {"line 2": "duplicate external id 'r9', also on row 1",
                              "line 3": "external id 'r1' is already in this campaign"}


def test_gold_answers_must_fit_the_question(conn, requester, draft, tmp_path):
    frame = ROWS.assign(label=["positive", "ecstatic", None])
    error = refused(conn, requester, draft, write(tmp_path, frame, "csv"))
    assert "must be one of positive, negative, neutral" in error.problems["row 2 (line 3)"]


def test_missing_columns_are_named_with_those_available(conn, requester, draft, tmp_path):
    mapping = io.Mapping(fields={"text": "body"})
    error = refused(conn, requester, draft, write(tmp_path, ROWS, "csv"), mapping)
    assert "no column 'body'" in str(error) and "'review'" in str(error)


def test_every_field_the_form_shows_must_be_mapped(conn, requester, draft, tmp_path):
    error = refused(conn, requester, draft, write(tmp_path, ROWS, "csv"),
                    io.Mapping(fields={"other": "review"}))
    assert "field text" in error.problems


def test_wrong_encoding_is_refused(conn, requester, draft, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,review\nr1,café crème\n".encode("latin-1"))
    assert "not UTF-8" in str(refused(conn, requester, draft, path, io.Mapping({"text": "review"})))


def test_a_bad_json_line_is_refused_with_its_line(conn, requester, draft, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "review": "fine"}\n{"id": "b", "review": "oops"\n'
                    '{"id": "c", "review": "x"}\n')
    error = refused(conn, requester, draft, path, io.Mapping({"text": "review"}))
    assert "not valid JSON Lines" in str(error) and "line" in str(error)


@pytest.mark.parametrize("content, message", [("", "empty"), ("id,review\n", "no items")])
def test_empty_files_are_refused(conn, requester, draft, tmp_path, content, message):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert message in str(refused(conn, requester, draft, path, io.Mapping({"text": "review"})))


def test_unknown_extensions_and_closed_campaigns_are_refused(conn, requester, draft, tmp_path):
    with pytest.raises(Invalid, match="Cannot tell the format"):
        io.import_items(conn, requester, draft.id, tmp_path / "items.xlsx", MAPPING, NOW)


def test_odd_column_names_are_safe(conn, requester, draft, tmp_path):
    frame = pd.DataFrame({'the "review"; DROP TABLE items; --': ["hello"]})
    path = write(tmp_path, frame, "parquet")
    mapping = io.Mapping(fields={"text": 'the "review"; DROP TABLE items; --'})
    assert io.import_items(conn, requester, draft.id, path, mapping, NOW).imported == 1


def answered_campaign(conn, make_user, make_campaign):
    campaign = make_campaign(n_items=2, overlap=2)
    experts = [make_user("ada"), make_user("bob")]
    for n, expert in enumerate(experts):
        got = assign.claim_next(conn, expert, campaign.id, NOW).assignment
        responses.submit(conn, expert, got.item_id, {"label": "negative"}, got.spec_version,
                         NOW + timedelta(minutes=n + 1))
    return campaign


@pytest.mark.parametrize("fmt", io.EXPORT_FORMATS)
def test_answers_export_reads_back_as_stored(conn, requester, make_user, make_campaign,
                                             tmp_path, fmt):
    campaign = answered_campaign(conn, make_user, make_campaign)
    review.reject(conn, requester, 2, "Copied from another answer", NOW + timedelta(hours=1))
    path = tmp_path / f"answers.{fmt}"
    assert io.export(conn, requester, "answers", campaign.id, path, fmt) == 2
    reader = {"csv": "read_csv", "jsonl": "read_json", "parquet": "read_parquet"}[fmt]
    back = duckdb.execute(f"SELECT * FROM {reader}(?) ORDER BY response_id", [str(path)]).df()
    stored = conn.execute("SELECT id, item_id, answer, spec_version, duration_s, status "
                          "FROM responses ORDER BY id").fetchall()
    assert back["response_id"].tolist() == [r[0] for r in stored]
    assert back["item_id"].tolist() == [r[1] for r in stored]
    answers = [a if isinstance(a, dict) else json.loads(a) for a in back["answer"]]
    assert answers == [json.loads(r[2]) for r in stored]
    assert back["spec_version"].tolist() == [r[3] for r in stored]
    assert back["duration_s"].tolist() == [r[4] for r in stored]
    assert back["review_status"].tolist() == ["submitted", "rejected"]
    assert back["review_reason"].tolist()[1] == "Copied from another answer"
    assert back["expert"].tolist() == ["ada", "bob"]


def test_items_export_and_permissions(conn, requester, make_user, make_campaign, tmp_path):
    campaign = answered_campaign(conn, make_user, make_campaign)
    path = tmp_path / "items.parquet"
    assert io.export(conn, requester, "items", campaign.id, path, "parquet") == 2
    back = duckdb.execute("SELECT item_id, answers, complete FROM read_parquet(?) ORDER BY 1",
                          [str(path)]).fetchall()
    assert back == [(1, 2, True), (2, 0, False)]
    from core.errors import Forbidden
    with pytest.raises(Forbidden):
        io.export(conn, make_user("eve"), "answers", campaign.id, path, "csv")
    with pytest.raises(Forbidden):
        io.export(conn, requester, "answers", None, path, "csv")


FORMULAS = ["=HYPERLINK(\"http://evil.example\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def formula_campaign(conn, requester, make_user, make_campaign, tmp_path):
    """A campaign whose title, external ids and review reason all start like formulas."""
    campaign = make_campaign(n_items=0, overlap=1, title=FORMULAS[0])
    source = write(tmp_path, pd.DataFrame({"id": FORMULAS[1:], "review": ["fine"] * 5}),
                   "parquet")
    io.import_items(conn, requester, campaign.id, source, io.Mapping({"text": "review"}, "id"),
                    NOW)
    ada = make_user("ada")
    got = assign.claim_next(conn, ada, campaign.id, NOW).assignment
    responses.submit(conn, ada, got.item_id, {"label": "negative"}, got.spec_version,
                     NOW + timedelta(minutes=1))
    review.reject(conn, requester, 1, "@cmd copied", NOW + timedelta(hours=1))
    return campaign


def test_csv_exports_neutralise_cells_a_spreadsheet_would_run(conn, requester, make_user,
                                                              make_campaign, tmp_path):
    import csv
    campaign = formula_campaign(conn, requester, make_user, make_campaign, tmp_path)
    for what in ("answers", "items"):
        path = tmp_path / f"{what}.csv"
        io.export(conn, requester, what, campaign.id, path, "csv")
        with path.open(newline="") as source:
            rows = list(csv.DictReader(source))
        cells = [v for row in rows for v in row.values() if v]
        assert not [c for c in cells if c[0] in "=+-@\t\r"], what
        if what == "answers":
            assert rows[0]["campaign"] == "'" + FORMULAS[0]
            assert rows[0]["review_reason"] == "'@cmd copied"
            assert float(rows[0]["duration_s"]) == 60
        else:
            assert [r["external_id"] for r in rows] == ["'" + f for f in FORMULAS[1:]]
            assert json.loads(rows[0]["payload"]) == {"text": "fine"}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_other_exports_keep_values_as_they_are(conn, requester, make_user, make_campaign,
                                               tmp_path, fmt):
    campaign = formula_campaign(conn, requester, make_user, make_campaign, tmp_path)
    path = tmp_path / f"items.{fmt}"
    io.export(conn, requester, "items", campaign.id, path, fmt)
    reader = {"jsonl": "read_json", "parquet": "read_parquet"}[fmt]
    back = duckdb.execute(f"SELECT external_id FROM {reader}(?) ORDER BY item_id",
                          [str(path)]).fetchall()
    assert [r[0] for r in back] == FORMULAS[1:]


TEXT = io.Mapping({"text": "review"})


def test_a_file_with_too_many_columns_is_refused_before_it_is_parsed(conn, requester, draft,
                                                                     tmp_path):
    import time
    path = tmp_path / "wide.csv"
    names = ["review", *(f"c{i}" for i in range(20_000))]
    path.write_text(",".join(names) + "\n" + ",".join(["x"] * len(names)) + "\n")
    started = time.monotonic()
    error = refused(conn, requester, draft, path, TEXT)
    assert time.monotonic() - started < 2
    assert "20,001 columns" in str(error) and "at most 1,000" in str(error)
    assert "QUORUM_IMPORT_MAX_COLUMNS" in str(error)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_column_limit_holds_for_json_lines_and_parquet(conn, requester, draft, tmp_path, fmt):
    frame = pd.DataFrame({"review": ["x"], **{f"c{i}": ["y"] for i in range(30)}})
    error = refused(conn, requester, draft, write(tmp_path, frame, fmt), TEXT, max_columns=20)
    assert "31 columns" in str(error) and "at most 20" in str(error)


def test_a_file_over_the_size_limit_is_refused_by_its_size(conn, requester, draft, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("review\n" + "a fine review\n" * 100_000)
    error = refused(conn, requester, draft, path, TEXT, max_megabytes=1)
    assert "1.4 MB" in str(error) and "at most 1 MB" in str(error)
    assert "QUORUM_IMPORT_MAX_MB" in str(error)


def test_a_line_over_the_limit_is_refused_with_its_row(conn, requester, draft, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("id,review\nr1,short\nr2," + "x" * 1_500_000 + "\nr3,short\n")
    error = refused(conn, requester, draft, path, TEXT, max_line_megabytes=1)
    assert "row 2 (line 3)" in str(error) and "longer than 1 MB" in str(error)
    assert "QUORUM_IMPORT_MAX_LINE_MB" in str(error)


def test_a_valid_10_mb_field_imports(conn, requester, draft, tmp_path):
    path = tmp_path / "field.csv"
    path.write_text('id,review\nr1,"' + "long, quoted text " * 600_000 + '"\nr2,short\n')
    assert io.import_items(conn, requester, draft.id, path, TEXT, NOW).imported == 2
    assert conn.execute("SELECT max(length(payload->>'text')) FROM items").fetchone()[0] \
        == 18 * 600_000


def test_an_unterminated_quote_is_refused_naming_its_row(conn, requester, draft, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('id,review\nr1,fine\nr2,"never closed\nr3,fine\n')
    error = refused(conn, requester, draft, path, TEXT)
    assert "row 2 (line 3)" in str(error) and "quote" in str(error) and "closed" in str(error)


def test_ragged_rows_say_how_many_fields_they_have(conn, requester, draft, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,review,label\nr1,good,positive\nr2,bad\nr3,ok,neutral\n")
    error = refused(conn, requester, draft, path, TEXT)
    assert "row 2 (line 3) has 2 fields; the header has 3" in str(error)


def test_a_missing_file_is_called_missing(conn, requester, draft, tmp_path):
    error = refused(conn, requester, draft, tmp_path / "nowhere.csv", TEXT)
    assert "does not exist" in str(error) and "nowhere.csv" in str(error)


def test_a_json_array_is_refused_with_the_format_json_lines_wants(conn, requester, draft,
                                                                  tmp_path):
    path = tmp_path / "items.json"
    path.write_text(json.dumps([{"id": "a", "review": "x"}, {"id": "b", "review": "y"}]))
    error = refused(conn, requester, draft, path, TEXT)
    assert "one JSON object per line" in str(error) and "array" in str(error)
    assert "'json'" not in str(error)


def test_a_json_line_that_is_not_an_object_is_named(conn, requester, draft, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text('{"review": "x"}\n"just text"\n')
    error = refused(conn, requester, draft, path, TEXT)
    assert "line 2" in str(error) and "one JSON object per line" in str(error)


def test_every_problem_on_a_row_is_shown(conn, requester, draft, tmp_path):
    frame = ROWS.copy()
    frame.loc[1, "review"] = " "
    frame.loc[1, "label"] = "ecstatic"
    error = refused(conn, requester, draft, write(tmp_path, frame, "csv"))
    shown = error.problems["row 2 (line 3)"]
    assert "field 'text' (column 'review') is empty" in shown and "'ecstatic'" in shown
