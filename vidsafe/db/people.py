"""The SQL of people: a team's faces across videos grouped into people, named, hidden, merged and split."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import dict_row

from vidsafe.db.findings import F_FINDING_COLUMNS, finding_of, vector_text
from vidsafe.db.paging import Page, decode_cursor, identifier, integer, page_of
from vidsafe.domain.findings import FrameHit
from vidsafe.domain.requests import PersonUpdate
from vidsafe.domain.review import Person

# ---- people --------------------------------------------------------------------------------------


def lock_people(conn: psycopg.Connection, team_id: UUID) -> None:
    """Serialise, until the transaction ends, what assigns a team's faces to people."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"people:{team_id}",))


def nearest_person(conn: psycopg.Connection, team_id: UUID, embedding: list[float]) -> tuple[UUID, float] | None:
    row = conn.execute("SELECT id, centroid <=> %s::vector FROM people WHERE team_id = %s "
                       "ORDER BY centroid <=> %s::vector LIMIT 1",
                       (vector_text(embedding), team_id, vector_text(embedding))).fetchone()
    return (row[0], float(row[1])) if row else None


def new_person(conn: psycopg.Connection, team_id: UUID, centroid: list[float]) -> UUID:
    person_id = uuid4()
    conn.execute("INSERT INTO people (id, team_id, centroid) VALUES (%s, %s, %s::vector)",
                 (person_id, team_id, vector_text(centroid)))
    return person_id


def set_person(conn: psycopg.Connection, finding_ids: list[int], person_id: UUID | None) -> None:
    conn.execute("UPDATE face_embeddings SET person_id = %s WHERE finding_id = ANY(%s)", (person_id, finding_ids))


def refresh_centroids(conn: psycopg.Connection, team_id: UUID) -> None:
    """Each person's centroid the mean of their faces; people left with no face and no name go."""
    conn.execute("UPDATE people p SET centroid = c.mean FROM (SELECT person_id, avg(embedding) AS mean "
                 "FROM face_embeddings WHERE person_id IS NOT NULL GROUP BY person_id) c "
                 "WHERE c.person_id = p.id AND p.team_id = %s", (team_id,))
    conn.execute("DELETE FROM people p WHERE team_id = %s AND name IS NULL AND NOT EXISTS "
                 "(SELECT 1 FROM face_embeddings e WHERE e.person_id = p.id)", (team_id,))


def clear_job_people(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute("UPDATE face_embeddings SET person_id = NULL WHERE job_id = %s", (job_id,))


_PERSON_SELECT = (
    "SELECT p.id, p.name, p.hidden, p.created_at, count(e.finding_id)::int AS faces, "
    "count(DISTINCT e.job_id)::int AS jobs, (array_agg(e.finding_id ORDER BY f.score DESC))[1] AS cover_id "
    "FROM people p LEFT JOIN face_embeddings e ON e.person_id = p.id LEFT JOIN findings f ON f.id = e.finding_id "
)


def _person(conn: psycopg.Connection, row: dict) -> Person:
    cover = None
    if (cover_id := row.pop("cover_id")) is not None:
        found = conn.cursor(row_factory=dict_row).execute(
            f"SELECT f.job_id, j.source_name, {F_FINDING_COLUMNS} "
            "FROM findings f JOIN jobs j ON j.id = f.job_id WHERE f.id = %s", (cover_id,)).fetchone()
        if found:
            cover = FrameHit(job_id=found.pop("job_id"), source_name=found.pop("source_name"), cosine_distance=0,
                             finding=finding_of(found))
    return Person.model_validate({**row, "cover": cover})


def people(conn: psycopg.Connection, team_id: UUID, hidden: bool, limit: int, cursor: str | None) -> Page[Person]:
    """A page of the team's people, most faces first."""
    after = decode_cursor(cursor, {"n": integer, "id": identifier})
    rows = conn.cursor(row_factory=dict_row).execute(
        _PERSON_SELECT + "WHERE p.team_id = %(team)s AND (%(hidden)s OR NOT p.hidden) GROUP BY p.id "
        "HAVING %(n)s::int IS NULL OR (-count(e.finding_id), p.id) > (-%(n)s::int, %(id)s::uuid) "
        "ORDER BY count(e.finding_id) DESC, p.id LIMIT %(limit)s",
        {"team": team_id, "hidden": hidden, "n": after["n"] if after else None, "id": after["id"] if after else None,
         "limit": limit + 1}).fetchall()
    return page_of([_person(conn, row) for row in rows], limit, lambda p: {"n": p.faces, "id": str(p.id)})


def get_person(conn: psycopg.Connection, team_id: UUID, person_id: UUID) -> Person | None:
    row = conn.cursor(row_factory=dict_row).execute(
        _PERSON_SELECT + "WHERE p.team_id = %s AND p.id = %s GROUP BY p.id", (team_id, person_id)).fetchone()
    return _person(conn, row) if row else None


def update_person(conn: psycopg.Connection, team_id: UUID, person_id: UUID, update: PersonUpdate) -> bool:
    fields = update.model_dump(exclude_unset=True)
    if not fields:
        return conn.execute("SELECT 1 FROM people WHERE team_id = %s AND id = %s",
                            (team_id, person_id)).fetchone() is not None
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    cur = conn.execute(f"UPDATE people SET {assignments} WHERE team_id = %(team)s AND id = %(id)s",
                       {**fields, "team": team_id, "id": person_id})
    return cur.rowcount == 1


def person_faces(conn: psycopg.Connection, team_id: UUID, person_id: UUID, limit: int,
                 every_face: bool = False) -> list[FrameHit]:
    """The person's faces, one per video (every video they appear in), best scored; ``every_face``: all of them."""
    distinct = "" if every_face else "DISTINCT ON (f.job_id) "
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {distinct}f.job_id, j.source_name, "
        f"{F_FINDING_COLUMNS} FROM face_embeddings e "
        "JOIN findings f ON f.id = e.finding_id JOIN jobs j ON j.id = f.job_id "
        "WHERE e.person_id = %s AND j.team_id = %s ORDER BY f.job_id, f.score DESC, f.id LIMIT %s",
        (person_id, team_id, limit)).fetchall()
    return [FrameHit(job_id=row.pop("job_id"), source_name=row.pop("source_name"), cosine_distance=0,
                     finding=finding_of(row)) for row in rows]


def team_face_ids(conn: psycopg.Connection, team_id: UUID, finding_ids: list[int]) -> list[int]:
    """Those of ``finding_ids`` that are stored faces of the team's jobs."""
    rows = conn.execute("SELECT e.finding_id FROM face_embeddings e JOIN jobs j ON j.id = e.job_id "
                        "WHERE j.team_id = %s AND e.finding_id = ANY(%s)", (team_id, finding_ids)).fetchall()
    return [row[0] for row in rows]


def merge_people(conn: psycopg.Connection, team_id: UUID, into: UUID, other: UUID) -> None:
    with conn.transaction():
        lock_people(conn, team_id)
        conn.execute("UPDATE face_embeddings SET person_id = %s WHERE person_id = %s", (into, other))
        conn.execute("UPDATE people SET name = coalesce(name, (SELECT name FROM people WHERE id = %s)) WHERE id = %s",
                     (other, into))
        conn.execute("DELETE FROM people WHERE id = %s AND team_id = %s", (other, team_id))
        refresh_centroids(conn, team_id)


def split_person(conn: psycopg.Connection, team_id: UUID, finding_ids: list[int]) -> UUID:
    """The faces moved to a new person of their own."""
    with conn.transaction():
        lock_people(conn, team_id)
        mean = conn.execute("SELECT avg(embedding)::text FROM face_embeddings WHERE finding_id = ANY(%s)",
                            (finding_ids,)).fetchone()
        assert mean is not None and mean[0] is not None
        person_id = new_person(conn, team_id, json.loads(mean[0]))
        set_person(conn, finding_ids, person_id)
        refresh_centroids(conn, team_id)
    return person_id
