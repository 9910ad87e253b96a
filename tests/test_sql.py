"""The PostgreSQL spelling of Quorum's SQL (core/db/sql.py)."""

from core.db.sql import to_postgres


def test_placeholders_become_psycopg_ones_outside_quotes():
    assert to_postgres("SELECT * FROM t WHERE a = ? AND b = $name AND c = 'it''s ? $x'") == \
        "SELECT * FROM t WHERE a = %s AND b = %(name)s AND c = 'it''s ? $x'"


def test_every_literal_percent_is_doubled_for_psycopg():
    assert to_postgres("SELECT 5 % 2, 'a%' -- 10%") == "SELECT 5 %% 2, 'a%%' -- 10%%"
    assert to_postgres("SELECT 5 % 2", placeholders=False) == "SELECT 5 % 2"


def test_json_functions_and_types_are_respelled():
    assert to_postgres("SELECT json_object('a', x)::JSON, to_json(y), json_group_array(z)") == \
        "SELECT jsonb_build_object('a', x)::JSONB, to_jsonb(y), jsonb_agg(z)"
    assert to_postgres('SELECT "json", \'json\' FROM t') == 'SELECT "json", \'json\' FROM t'


def test_ddl_types_and_empty_list_defaults():
    ddl = "CREATE TABLE t (a DOUBLE, b DOUBLE PRECISION, c INTEGER[] NOT NULL DEFAULT [])"
    assert to_postgres(ddl, placeholders=False) == \
        "CREATE TABLE t (a DOUBLE PRECISION, b DOUBLE PRECISION, c INTEGER[] NOT NULL " \
        "DEFAULT '{}')"
