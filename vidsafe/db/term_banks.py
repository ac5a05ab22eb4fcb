"""The SQL of term banks: a team's banks and their terms."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.rows import class_row

from vidsafe.domain.term_banks import TermBank
from vidsafe.text.banks import BankTerms, Term, TermKind

_BANK_COLUMNS = ("id, name, category, description, (SELECT count(*) FROM bank_terms t WHERE t.bank_id = b.id) "
                 "AS terms, version, created_at, updated_at")


def create_bank(conn: psycopg.Connection, bank_id: UUID, team_id: UUID, name: str, category: str,
                description: str) -> TermBank:
    conn.execute("INSERT INTO term_banks (id, team_id, name, category, description) VALUES (%s, %s, %s, %s, %s)",
                 (bank_id, team_id, name, category, description))
    found = get_bank(conn, team_id, bank_id)
    assert found is not None
    return found


def get_bank(conn: psycopg.Connection, team_id: UUID, bank_id: UUID) -> TermBank | None:
    return conn.cursor(row_factory=class_row(TermBank)).execute(
        f"SELECT {_BANK_COLUMNS} FROM term_banks b WHERE team_id = %s AND id = %s", (team_id, bank_id)).fetchone()


def list_banks(conn: psycopg.Connection, team_id: UUID) -> list[TermBank]:
    return conn.cursor(row_factory=class_row(TermBank)).execute(
        f"SELECT {_BANK_COLUMNS} FROM term_banks b WHERE team_id = %s ORDER BY name", (team_id,)).fetchall()


def count_banks(conn: psycopg.Connection, team_id: UUID) -> int:
    return conn.execute("SELECT count(*) FROM term_banks WHERE team_id = %s", (team_id,)).fetchone()[0]


def delete_bank(conn: psycopg.Connection, team_id: UUID, bank_id: UUID) -> bool:
    return conn.execute("DELETE FROM term_banks WHERE team_id = %s AND id = %s", (team_id, bank_id)).rowcount > 0


def terms(conn: psycopg.Connection, bank_id: UUID) -> list[Term]:
    rows = conn.execute("SELECT kind, term FROM bank_terms WHERE bank_id = %s ORDER BY position", (bank_id,))
    return [Term(TermKind(kind), term) for kind, term in rows.fetchall()]


def add_terms(conn: psycopg.Connection, bank_id: UUID, new: list[Term], replace: bool) -> int:
    """Add the terms the bank lacks (after removing all it had, with ``replace``), in one transaction that the
    caller holds; how many were added."""
    if replace:
        conn.execute("DELETE FROM bank_terms WHERE bank_id = %s", (bank_id,))
    kept = set() if replace else {(t.kind, t.text) for t in terms(conn, bank_id)}
    fresh = list(dict.fromkeys(t for t in new if (t.kind, t.text) not in kept))
    start = conn.execute("SELECT coalesce(max(position), 0) FROM bank_terms WHERE bank_id = %s",
                         (bank_id,)).fetchone()[0]
    with conn.cursor().copy("COPY bank_terms (bank_id, position, kind, term) FROM STDIN") as copy:
        for offset, term in enumerate(fresh, start=1):
            copy.write_row((bank_id, start + offset, str(term.kind), term.text))
    conn.execute("UPDATE term_banks SET version = version + 1, updated_at = now() WHERE id = %s", (bank_id,))
    return len(fresh)


def team_banks(conn: psycopg.Connection, team_id: UUID) -> tuple[tuple[str, int], ...]:
    """(id, version) of each of the team's banks: what a compiled matcher of them is current for."""
    rows = conn.execute("SELECT id::text, version FROM term_banks WHERE team_id = %s ORDER BY id", (team_id,))
    return tuple((bank_id, version) for bank_id, version in rows.fetchall())


def team_terms(conn: psycopg.Connection, team_id: UUID) -> list[BankTerms]:
    """Every bank of the team with its terms, for matching."""
    rows = conn.execute(
        "SELECT b.id::text, b.category, t.kind, t.term FROM term_banks b JOIN bank_terms t ON t.bank_id = b.id "
        "WHERE b.team_id = %s ORDER BY b.id, t.position", (team_id,)).fetchall()
    banks: dict[tuple[str, str], list[Term]] = {}
    for bank_id, category, kind, term in rows:
        banks.setdefault((bank_id, category), []).append(Term(TermKind(kind), term))
    return [BankTerms(bank_id, category, found) for (bank_id, category), found in banks.items()]
