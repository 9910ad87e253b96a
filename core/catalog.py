"""The skills and languages experts declare and campaigns ask for."""

from __future__ import annotations

import pandas as pd

from core.db import Connection, Cursor, frame_table, reading

SKILLS = [
    ("coding", "Coding", "Writing, reviewing and explaining software"),
    ("law", "Law and legal", "Contracts, regulation, case law and legal reasoning"),
    ("arts", "The arts", "Visual art, design, music and literature"),
    ("general", "General knowledge", "Everyday facts, reasoning and clear writing"),
    ("medicine", "Medicine and health", "Clinical knowledge and health communication"),
    ("finance", "Finance", "Accounting, markets and financial analysis"),
    ("math", "Mathematics", "Proofs, problem solving and quantitative reasoning"),
    ("science", "Science", "Physics, chemistry, biology and earth sciences"),
]

LANGUAGES = [
    ("en-US", "English (United States)"),
    ("en-GB", "English (United Kingdom)"),
    ("es-ES", "Spanish (Spain)"),
    ("es-MX", "Spanish (Mexico)"),
    ("fr-FR", "French (France)"),
    ("de-DE", "German (Germany)"),
    ("pt-BR", "Portuguese (Brazil)"),
    ("it-IT", "Italian (Italy)"),
    ("ja-JP", "Japanese (Japan)"),
    ("zh-CN", "Chinese (Simplified, China)"),
    ("hi-IN", "Hindi (India)"),
    ("ar-SA", "Arabic (Saudi Arabia)"),
]


def install(cur: Cursor) -> None:
    """Insert the built-in skills and languages that are missing (inside a write transaction)."""
    skills = pd.DataFrame(SKILLS, columns=["code", "name", "description"])
    languages = pd.DataFrame(LANGUAGES, columns=["tag", "name"])
    with frame_table(cur, "skills_df", skills), frame_table(cur, "languages_df", languages):
        cur.execute("INSERT INTO skills SELECT * FROM skills_df "
                    "WHERE code NOT IN (SELECT code FROM skills)")
        cur.execute("INSERT INTO languages SELECT * FROM languages_df "
                    "WHERE tag NOT IN (SELECT tag FROM languages)")


def skills(conn: Connection) -> dict[str, str]:
    """Skill code → display name, in catalog order."""
    with reading(conn) as cur:
        return dict(cur.execute("SELECT code, name FROM skills ORDER BY name").fetchall())


def languages(conn: Connection) -> dict[str, str]:
    """BCP 47 tag → display name."""
    with reading(conn) as cur:
        return dict(cur.execute("SELECT tag, name FROM languages ORDER BY name").fetchall())


_SKILL_NAMES = {code: name for code, name, _ in SKILLS}
_LANGUAGE_NAMES = dict(LANGUAGES)


def skill_name(code: str) -> str:
    """A built-in skill's display name ("general" → "General knowledge"); others as given."""
    return _SKILL_NAMES.get(code, code)


def language_name(tag: str) -> str:
    """A built-in language's display name ("en-US" → "English (United States)"); others as given."""
    return _LANGUAGE_NAMES.get(tag, tag)


def expertise_name(skill: str, language: str) -> str:
    """A skill in a language as people read it: "General knowledge · English (United States)"."""
    return f"{skill_name(skill)} · {language_name(language)}"
