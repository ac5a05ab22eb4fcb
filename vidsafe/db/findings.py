"""The SQL of findings, their embeddings (pgvector) and segments: stored by the parts, read by the rules and the
gateway."""

from __future__ import annotations

import json
from collections.abc import Iterable
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.catalogue import Module
from vidsafe.db.paging import Page, decode_cursor, integer, number, page_of
from vidsafe.domain.findings import Finding, FrameHit, Segment

FINDING_COLUMNS = "id, module, label, score, timestamp_s, end_s, frame_index, box, polygon, text, attributes"
# The same, of the findings table aliased ``f`` in a join.
F_FINDING_COLUMNS = ", ".join("f." + column for column in FINDING_COLUMNS.split(", "))
# Where a finding's embedding goes, by module; text embeddings come later, from their own stage.
_EMBEDDING_TABLES = {Module.faces: "face_embeddings", Module.clip: "clip_embeddings"}


def vector_text(values: Iterable[float]) -> str:
    """pgvector's text form, cast with ::vector in SQL (no per-connection type registration needed)."""
    return "[" + ",".join(f"{float(v):.8g}" for v in values) + "]"


def add_findings(conn: psycopg.Connection, job_id: UUID, findings: Iterable[Finding],
                 part: tuple[str, int] | None = None) -> list[int]:
    """Store findings (and their embeddings) in one transaction, as the findings of ``part`` (kind, index)
    if given; sets and returns their ids."""
    ids = []
    with conn.transaction(), conn.cursor() as cur:
        for finding in findings:
            cur.execute(
                "INSERT INTO findings (job_id, module, label, score, timestamp_s, end_s, frame_index, box, polygon, "
                "text, attributes, part_kind, part_index) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (job_id, finding.module, finding.label, finding.score, finding.timestamp_s, finding.end_s,
                 finding.frame_index, list(finding.box) if finding.box else None,
                 Jsonb(finding.polygon) if finding.polygon else None, finding.text, Jsonb(finding.attributes),
                 *(part or (None, None))),
            )
            finding.id = cur.fetchone()[0]  # type: ignore[index]
            ids.append(finding.id)
            if finding.embedding is not None:
                cur.execute(
                    f"INSERT INTO {_EMBEDDING_TABLES[finding.module]} (finding_id, job_id, embedding) "
                    "VALUES (%s, %s, %s::vector)",
                    (finding.id, job_id, vector_text(finding.embedding)),
                )
    return ids


def replace_module_findings(conn: psycopg.Connection, job_id: UUID, module: Module, findings: list[Finding],
                            part: tuple[str, int], only: tuple[str, list[str]] | None = None) -> int:
    """The job's findings of ``module`` (``only``: those whose attribute has one of the values) become
    ``findings`` at once, the job's row locked (a rules part, a re-matching and a re-judging of the same job do not
    interleave); how many it had."""
    key, values = only or (None, [])
    with conn.transaction():
        conn.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (job_id,))
        removed = conn.execute(
            "DELETE FROM findings WHERE job_id = %s AND module = %s "
            "AND (%s::text IS NULL OR attributes ->> %s::text = ANY(%s))",
            (job_id, module, key, key, values)).rowcount
        add_findings(conn, job_id, findings, part)
    return removed


def merge_attributes(conn: psycopg.Connection, updates: dict[int, dict]) -> None:
    """Add keys to stored findings' attributes (finding id -> keys)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("UPDATE findings SET attributes = attributes || %s WHERE id = %s",
                        [(Jsonb(keys), finding_id) for finding_id, keys in updates.items()])


def text_findings(conn: psycopg.Connection, job_id: UUID) -> list[tuple[int, str]]:
    """(id, text) of the job's findings that carry text and have no text embedding yet."""
    return conn.execute(
        "SELECT f.id, f.text FROM findings f LEFT JOIN text_embeddings t ON t.finding_id = f.id "
        "WHERE f.job_id = %s AND f.text IS NOT NULL AND f.text <> '' AND t.finding_id IS NULL ORDER BY f.id",
        (job_id,),
    ).fetchall()


def add_text_embeddings(conn: psycopg.Connection, job_id: UUID, rows: Iterable[tuple[int, list[float]]]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO text_embeddings (finding_id, job_id, embedding) VALUES (%s, %s, %s::vector)",
            [(finding_id, job_id, vector_text(vector)) for finding_id, vector in rows],
        )


def replace_segments(conn: psycopg.Connection, job_id: UUID, segments: Iterable[Segment]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM segments WHERE job_id = %s", (job_id,))
        cur.executemany(
            "INSERT INTO segments (job_id, module, label, start_s, end_s, max_score, mean_score, count) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(job_id, s.module, s.label, s.start_s, s.end_s, s.max_score, s.mean_score, s.count) for s in segments],
        )


def get_segments(conn: psycopg.Connection, job_id: UUID, module: str | None = None) -> list[Segment]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT module, label, start_s, end_s, max_score, mean_score, count FROM segments "
        "WHERE job_id = %(job)s AND (%(module)s::text IS NULL OR module = %(module)s) ORDER BY start_s, id",
        {"job": job_id, "module": module},
    ).fetchall()
    return [Segment.model_validate(row) for row in rows]


def finding_of(row: dict) -> Finding:
    return Finding.model_validate({**row, "box": tuple(row["box"]) if row["box"] else None})


def get_findings(conn: psycopg.Connection, job_id: UUID, module: str | None = None) -> list[Finding]:
    """All the job's findings (of ``module``), in time order: what the rules read."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {FINDING_COLUMNS} FROM findings "
        "WHERE job_id = %(job)s AND (%(module)s::text IS NULL OR module = %(module)s) "
        "ORDER BY timestamp_s, id",
        {"job": job_id, "module": module},
    ).fetchall()
    return [finding_of(row) for row in rows]


def findings_page(conn: psycopg.Connection, job_id: UUID, module: str | None, limit: int,
                  cursor: str | None) -> Page[Finding]:
    """A page of the job's findings in time order (InvalidCursor for a cursor of another list)."""
    after = decode_cursor(cursor, {"t": number, "id": integer})
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {FINDING_COLUMNS} FROM findings "
        "WHERE job_id = %(job)s AND (%(module)s::text IS NULL OR module = %(module)s) "
        "AND (%(t)s::float IS NULL OR (timestamp_s, id) > (%(t)s::float, %(id)s::bigint)) "
        "ORDER BY timestamp_s, id LIMIT %(limit)s",
        {"job": job_id, "module": module, "limit": limit + 1, "t": after["t"] if after else None,
         "id": after["id"] if after else None},
    ).fetchall()
    return page_of([finding_of(row) for row in rows], limit, lambda f: {"t": f.timestamp_s, "id": f.id})


def rule_inputs(conn: psycopg.Connection, job_id: UUID, modules: Iterable[Module]) -> list[Finding]:
    """The job's findings of ``modules``, faces with their embeddings: what the rules after the parts read."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {F_FINDING_COLUMNS}, e.embedding::text AS embedding "
        "FROM findings f LEFT JOIN face_embeddings e ON e.finding_id = f.id "
        "WHERE f.job_id = %s AND f.module = ANY(%s) ORDER BY f.timestamp_s, f.id",
        (job_id, [str(m) for m in modules]),
    ).fetchall()
    return [finding_of({**row, "embedding": json.loads(row["embedding"]) if row["embedding"] else None})
            for row in rows]


EXCLUDING_EF_SEARCH = 1000  # pgvector's most: candidates enough past one video's own faces


def face_embedding(conn: psycopg.Connection, finding_id: int, team_id: UUID) -> tuple[UUID, list[float]] | None:
    """The face finding's job and embedding, if its job belongs to ``team_id``."""
    row = conn.execute("SELECT e.job_id, e.embedding::text FROM face_embeddings e JOIN jobs j ON j.id = e.job_id "
                       "WHERE e.finding_id = %s AND j.team_id = %s", (finding_id, team_id)).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def nearest_findings(conn: psycopg.Connection, table: str, team_id: UUID, embedding: list[float], limit: int,
                     max_distance: float, exclude_job: UUID | None = None) -> list[FrameHit]:
    """Findings across the team's jobs (but ``exclude_job``) whose embedding in ``table`` (faces, CLIP frames) is
    nearest to ``embedding`` (cosine distance, HNSW index), nearest first."""
    with conn.transaction():
        if exclude_job is not None:
            # The index hands the filter its ef_search nearest (40 by default): a video's own faces would fill them.
            conn.execute(f"SET LOCAL hnsw.ef_search = {EXCLUDING_EF_SEARCH}")
        rows = conn.cursor(row_factory=dict_row).execute(
            f"SELECT f.job_id, j.source_name, {F_FINDING_COLUMNS}, e.embedding <=> %(v)s::vector AS distance "
            f"FROM {table} e JOIN findings f ON f.id = e.finding_id JOIN jobs j ON j.id = e.job_id "
            "WHERE j.team_id = %(team)s AND e.embedding <=> %(v)s::vector <= %(max)s "
            "AND (%(exclude)s::uuid IS NULL OR e.job_id <> %(exclude)s) "
            "ORDER BY e.embedding <=> %(v)s::vector LIMIT %(limit)s",
            {"v": vector_text(embedding), "team": team_id, "max": max_distance, "limit": limit,
             "exclude": exclude_job}).fetchall()
    return [FrameHit(job_id=row.pop("job_id"), source_name=row.pop("source_name"), cosine_distance=row.pop("distance"),
                     finding=finding_of(row)) for row in rows]
