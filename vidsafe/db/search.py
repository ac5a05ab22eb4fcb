"""The SQL of search within a team: texts by words (full-text search) and by meaning (MiniLM embeddings), faces and
frames by likeness (pgvector, HNSW)."""

from __future__ import annotations

import json
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from vidsafe.catalogue import Module
from vidsafe.db.findings import nearest_findings, vector_text
from vidsafe.domain.findings import FrameHit

# ---- search --------------------------------------------------------------------------------------

SEARCH_DEPTH = 200  # hits taken from each ranking (before the gateway fuses them)
_HIT_COLUMNS = "f.id, f.job_id, j.source_name, f.module, f.text, f.timestamp_s, f.end_s"


def search_words(conn: psycopg.Connection, team_id: UUID, text: str, modules: list[Module]) -> list[dict]:
    """The team's transcript and on-screen text findings holding all the words, best ranked first. On-screen
    text may have lost its spaces in recognition, so the words run together also match inside a text."""
    squeezed = "".join(text.lower().split()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_HIT_COLUMNS} FROM findings f JOIN jobs j ON j.id = f.job_id, "
        "websearch_to_tsquery('english', %(q)s) q WHERE j.team_id = %(team)s AND f.module = ANY(%(modules)s) "
        "AND f.text IS NOT NULL AND (f.text_search @@ q OR (length(%(squeezed)s) >= 3 AND "
        "replace(lower(f.text), ' ', '') LIKE '%%' || %(squeezed)s || '%%')) "
        "ORDER BY ts_rank_cd(f.text_search, q) DESC, f.timestamp_s, f.id LIMIT %(depth)s",
        {"q": text, "squeezed": squeezed, "team": team_id, "modules": [str(m) for m in modules],
         "depth": SEARCH_DEPTH}).fetchall()


def search_meaning(conn: psycopg.Connection, team_id: UUID, embedding: list[float], modules: list[Module],
                   max_distance: float) -> list[dict]:
    """The team's text findings whose MiniLM embedding is nearest to ``embedding`` (cosine, HNSW)."""
    return conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_HIT_COLUMNS} FROM text_embeddings e JOIN findings f ON f.id = e.finding_id "
        "JOIN jobs j ON j.id = e.job_id WHERE j.team_id = %(team)s AND f.module = ANY(%(modules)s) "
        "AND e.embedding <=> %(v)s::vector <= %(max)s ORDER BY e.embedding <=> %(v)s::vector LIMIT %(depth)s",
        {"team": team_id, "modules": [str(m) for m in modules], "v": vector_text(embedding), "max": max_distance,
         "depth": SEARCH_DEPTH}).fetchall()


def frame_embedding(conn: psycopg.Connection, team_id: UUID, finding_id: int) -> list[float] | None:
    """The CLIP picture embedding of a finding's frame (the frame's ``frame`` finding), if the team's."""
    row = conn.execute(
        "SELECT e.embedding::text FROM findings f JOIN findings g ON g.job_id = f.job_id "
        "AND g.frame_index = f.frame_index JOIN clip_embeddings e ON e.finding_id = g.id "
        "JOIN jobs j ON j.id = f.job_id WHERE f.id = %s AND j.team_id = %s LIMIT 1", (finding_id, team_id)).fetchone()
    return json.loads(row[0]) if row else None


def faces_near(conn: psycopg.Connection, team_id: UUID, embedding: list[float], limit: int,
               max_distance: float, exclude_job: UUID | None = None) -> list[FrameHit]:
    """Faces across the team's jobs (but ``exclude_job``) nearest to ``embedding``, nearest first."""
    return nearest_findings(conn, "face_embeddings", team_id, embedding, limit, max_distance, exclude_job)


def similar_frames(conn: psycopg.Connection, team_id: UUID, embedding: list[float], limit: int,
                   max_distance: float) -> list[FrameHit]:
    """Frames across the team's jobs that look like ``embedding`` (CLIP), nearest first."""
    return nearest_findings(conn, "clip_embeddings", team_id, embedding, limit, max_distance)
