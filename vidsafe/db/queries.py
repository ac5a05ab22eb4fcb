"""The SQL the services share, behind small typed functions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.domain import (
    ApiKey,
    ErrorCode,
    Finding,
    Job,
    JobOptions,
    JobStatus,
    MediaInfo,
    Module,
    Scope,
    Segment,
)

_JOB_COLUMNS = (
    "id, status, source_name, progress, frames_analyzed, media, options, error_code, error_message, "
    "created_at, started_at, finished_at"
)
_FINDING_COLUMNS = "id, module, label, score, timestamp_s, end_s, frame_index, box, polygon, text, attributes"
# Where a finding's embedding goes, by module; text embeddings come later, from their own stage.
_EMBEDDING_TABLES = {Module.faces: "face_embeddings", Module.clip: "clip_embeddings"}


def _vector(values: Iterable[float]) -> str:
    """pgvector's text form, cast with ::vector in SQL (no per-connection type registration needed)."""
    return "[" + ",".join(f"{float(v):.8g}" for v in values) + "]"


def _job(row: dict) -> Job:
    return Job.model_validate(row)


def create_job(conn: psycopg.Connection, job_id: UUID, source_name: str, media_path: str, owns_media: bool,
               options: JobOptions, api_key_id: UUID | None = None, idempotency_key: str | None = None) -> Job | None:
    """The new job; None if this API key already created a job with this idempotency key."""
    row = conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO jobs (id, status, source_name, media_path, owns_media, options, api_key_id, idempotency_key) "
        "VALUES (%s, 'queued', %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
        f"RETURNING {_JOB_COLUMNS}",
        (job_id, source_name, media_path, owns_media, Jsonb(options.model_dump(mode="json", exclude_none=True)),
         api_key_id, idempotency_key),
    ).fetchone()
    return _job(row) if row else None


def job_by_idempotency_key(conn: psycopg.Connection, api_key_id: UUID, idempotency_key: str) -> Job | None:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE api_key_id = %s AND idempotency_key = %s",
        (api_key_id, idempotency_key),
    ).fetchone()
    return _job(row) if row else None


def delete_job(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,))


def get_job(conn: psycopg.Connection, job_id: UUID) -> Job | None:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,)
    ).fetchone()
    return _job(row) if row else None


def list_jobs(conn: psycopg.Connection, limit: int, status: JobStatus | None = None) -> list[Job]:
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE %(status)s::text IS NULL OR status = %(status)s "
        "ORDER BY created_at DESC LIMIT %(limit)s",
        {"status": status, "limit": limit},
    ).fetchall()
    return [_job(row) for row in rows]


def get_media_source(conn: psycopg.Connection, job_id: UUID) -> tuple[str, bool, JobOptions] | None:
    """Where the worker reads the job's video, whether the job owns (and so removes) that file, and the
    job's options."""
    row = conn.execute("SELECT media_path, owns_media, options FROM jobs WHERE id = %s", (job_id,)).fetchone()
    return (row[0], row[1], JobOptions.model_validate(row[2])) if row else None


def start_job(conn: psycopg.Connection, job_id: UUID) -> bool:
    """Mark a job running and forget any findings of an earlier, interrupted attempt.

    Returns False when the job does not exist or has already ended, so a redelivered task is a no-op.
    """
    with conn.transaction():
        cur = conn.execute(
            "UPDATE jobs SET status = 'running', started_at = now(), progress = 0, frames_analyzed = 0 "
            "WHERE id = %s AND status IN ('queued', 'running')",
            (job_id,),
        )
        if cur.rowcount != 1:
            return False
        conn.execute("DELETE FROM findings WHERE job_id = %s", (job_id,))
        conn.execute("DELETE FROM segments WHERE job_id = %s", (job_id,))
    return True


def set_media(conn: psycopg.Connection, job_id: UUID, media: MediaInfo) -> None:
    conn.execute("UPDATE jobs SET media = %s WHERE id = %s", (Jsonb(media.model_dump()), job_id))


def add_findings(conn: psycopg.Connection, job_id: UUID, findings: Iterable[Finding],
                 frames_analyzed: int | None = None, progress: float | None = None) -> list[int]:
    """Store findings (and their embeddings), optionally advancing the job's progress, in one
    transaction. Returns the new findings' ids."""
    ids = []
    with conn.transaction(), conn.cursor() as cur:
        for finding in findings:
            cur.execute(
                "INSERT INTO findings (job_id, module, label, score, timestamp_s, end_s, frame_index, box, polygon, "
                "text, attributes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (job_id, finding.module, finding.label, finding.score, finding.timestamp_s, finding.end_s,
                 finding.frame_index, list(finding.box) if finding.box else None,
                 Jsonb(finding.polygon) if finding.polygon else None, finding.text, Jsonb(finding.attributes)),
            )
            finding_id = cur.fetchone()[0]  # type: ignore[index]
            ids.append(finding_id)
            if finding.embedding is not None:
                cur.execute(
                    f"INSERT INTO {_EMBEDDING_TABLES[finding.module]} (finding_id, job_id, embedding) "
                    "VALUES (%s, %s, %s::vector)",
                    (finding_id, job_id, _vector(finding.embedding)),
                )
        if frames_analyzed is not None and progress is not None:
            cur.execute(
                "UPDATE jobs SET frames_analyzed = %s, progress = %s WHERE id = %s",
                (frames_analyzed, min(progress, 1.0), job_id),
            )
    return ids


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
            [(finding_id, job_id, _vector(vector)) for finding_id, vector in rows],
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


def finish_job(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute(
        "UPDATE jobs SET status = 'succeeded', progress = 1, finished_at = now() WHERE id = %s", (job_id,)
    )


def fail_job(conn: psycopg.Connection, job_id: UUID, code: ErrorCode, message: str) -> None:
    conn.execute(
        "UPDATE jobs SET status = 'failed', error_code = %s, error_message = %s, finished_at = now() "
        "WHERE id = %s",
        (code, message, job_id),
    )


def _finding(row: dict) -> Finding:
    return Finding.model_validate({**row, "box": tuple(row["box"]) if row["box"] else None})


def get_findings(conn: psycopg.Connection, job_id: UUID, module: str | None = None) -> list[Finding]:
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_FINDING_COLUMNS} FROM findings "
        "WHERE job_id = %(job)s AND (%(module)s::text IS NULL OR module = %(module)s) "
        "ORDER BY timestamp_s, id",
        {"job": job_id, "module": module},
    ).fetchall()
    return [_finding(row) for row in rows]


def face_embedding(conn: psycopg.Connection, finding_id: int) -> list[float] | None:
    row = conn.execute("SELECT embedding::text FROM face_embeddings WHERE finding_id = %s", (finding_id,)).fetchone()
    return json.loads(row[0]) if row else None


def similar_faces(conn: psycopg.Connection, embedding: list[float], limit: int,
                  max_distance: float) -> list[tuple[UUID, Finding, float]]:
    """Faces across all jobs closest to ``embedding`` (cosine distance, HNSW index): (job, finding, distance)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT f.job_id, {', '.join('f.' + c for c in _FINDING_COLUMNS.split(', '))}, "
        "e.embedding <=> %(vector)s::vector AS distance FROM face_embeddings e JOIN findings f ON f.id = e.finding_id "
        "WHERE e.embedding <=> %(vector)s::vector <= %(max)s ORDER BY e.embedding <=> %(vector)s::vector "
        "LIMIT %(limit)s",
        {"vector": _vector(embedding), "max": max_distance, "limit": limit},
    ).fetchall()
    return [(row.pop("job_id"), _finding({k: v for k, v in row.items() if k != "distance"}), row["distance"])
            for row in rows]


# ---- API keys ------------------------------------------------------------------------------------

_API_KEY_COLUMNS = "id, name, prefix, scopes, created_at, last_used_at, revoked_at"


def create_api_key(conn: psycopg.Connection, key_id: UUID, name: str, prefix: str, key_sha256: str,
                   scopes: list[Scope]) -> ApiKey:
    row = conn.cursor(row_factory=dict_row).execute(
        f"INSERT INTO api_keys (id, name, prefix, key_sha256, scopes) VALUES (%s, %s, %s, %s, %s) "
        f"RETURNING {_API_KEY_COLUMNS}",
        (key_id, name, prefix, key_sha256, [str(scope) for scope in scopes]),
    ).fetchone()
    assert row is not None
    return ApiKey.model_validate(row)


def api_key_by_hash(conn: psycopg.Connection, key_sha256: str) -> ApiKey | None:
    """The live (not revoked) key with this hash, marking it used."""
    row = conn.cursor(row_factory=dict_row).execute(
        f"UPDATE api_keys SET last_used_at = now() WHERE key_sha256 = %s AND revoked_at IS NULL "
        f"RETURNING {_API_KEY_COLUMNS}",
        (key_sha256,),
    ).fetchone()
    return ApiKey.model_validate(row) if row else None


def list_api_keys(conn: psycopg.Connection) -> list[ApiKey]:
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys ORDER BY created_at").fetchall()
    return [ApiKey.model_validate(row) for row in rows]


def revoke_api_key(conn: psycopg.Connection, name: str) -> bool:
    cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL", (name,))
    return cur.rowcount == 1


def delete_api_key(conn: psycopg.Connection, name: str) -> None:
    conn.execute("DELETE FROM api_keys WHERE name = %s", (name,))
