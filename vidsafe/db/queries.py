"""The SQL the services share, behind small typed functions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.db.paging import Page, decode_cursor, page_of
from vidsafe.domain import (
    ApiKey,
    Batch,
    Coverage,
    ErrorCode,
    Finding,
    FrameHit,
    Job,
    JobEvent,
    JobOptions,
    JobStatus,
    JobWarning,
    MediaInfo,
    Module,
    Scope,
    Segment,
    Team,
    TeamLimits,
    WebhookDelivery,
)

_JOB_COLUMNS = (
    "id, status, source_name, source_url, batch_id, priority, callback_url, progress, frames_analyzed, media, "
    "options, modules, step, coverage, warnings, risk, risk_reasons, media_kept_until, error_code, error_message, "
    "retryable, created_at, started_at, finished_at"
)
FINDING_COLUMNS = "id, module, label, score, timestamp_s, end_s, frame_index, box, polygon, text, attributes"
# The same, of the findings table aliased ``f`` in a join.
F_FINDING_COLUMNS = ", ".join("f." + column for column in FINDING_COLUMNS.split(", "))
# Where a finding's embedding goes, by module; text embeddings come later, from their own stage.
_EMBEDDING_TABLES = {Module.faces: "face_embeddings", Module.clip: "clip_embeddings"}


def vector_text(values: Iterable[float]) -> str:
    """pgvector's text form, cast with ::vector in SQL (no per-connection type registration needed)."""
    return "[" + ",".join(f"{float(v):.8g}" for v in values) + "]"


def _job(row: dict) -> Job:
    return Job.model_validate(row)


@dataclass(frozen=True)
class NewJob:
    """What the gateway records for a submitted video."""

    team_id: UUID
    source_name: str
    media_path: str
    owns_media: bool  # an upload or a download, removed when no longer needed
    options: JobOptions
    media: MediaInfo | None = None  # probed at submission (None: a URL, fetched and probed by a worker)
    status: JobStatus = JobStatus.queued
    priority: int = 5
    batch_id: UUID | None = None
    callback_url: str | None = None
    source_url: str | None = None


@contextmanager
def acting(conn: psycopg.Connection, actor: str, reason: str | None = None) -> Iterator[None]:
    """A transaction whose job changes the audit trail records as made by ``actor``, for ``reason``."""
    with conn.transaction():
        conn.execute("SELECT set_config('vidsafe.actor', %s, true), set_config('vidsafe.reason', %s, true)",
                     (actor, reason or ""))
        yield


@dataclass(frozen=True)
class Idempotency:
    """A submission's idempotency key, and the fingerprint of the request it is bound to."""

    key: str
    fingerprint: str


def create_job(conn: psycopg.Connection, job_id: UUID, new: NewJob, api_key_id: UUID | None = None,
               idempotency: Idempotency | None = None, actor: str = "system") -> Job | None:
    """The new job; None if this API key already created a job with this idempotency key."""
    with acting(conn, actor, "submitted"):
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO jobs (id, team_id, status, source_name, media_path, owns_media, options, media, api_key_id, "
            "idempotency_key, idempotency_fingerprint, priority, batch_id, callback_url, source_url) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
            f"RETURNING {_JOB_COLUMNS}",
            (job_id, new.team_id, new.status, new.source_name, new.media_path, new.owns_media,
             Jsonb(new.options.model_dump(mode="json", exclude_none=True)),
             Jsonb(new.media.model_dump()) if new.media else None, api_key_id,
             idempotency.key if idempotency else None, idempotency.fingerprint if idempotency else None,
             new.priority, new.batch_id, new.callback_url, new.source_url),
        ).fetchone()
    return _job(row) if row else None


def job_by_idempotency_key(conn: psycopg.Connection, api_key_id: UUID, idempotency_key: str,
                           ttl_s: float) -> tuple[Job, str | None] | None:
    """The job this key created under ``idempotency_key`` within ``ttl_s``, with the request's fingerprint. An
    older use of the key is forgotten here (the key may be used again, as Stripe's expire after 24 h)."""
    conn.execute("UPDATE jobs SET idempotency_key = NULL WHERE api_key_id = %s AND idempotency_key = %s "
                 "AND created_at < now() - make_interval(secs => %s)", (api_key_id, idempotency_key, ttl_s))
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS}, idempotency_fingerprint FROM jobs WHERE api_key_id = %s AND idempotency_key = %s",
        (api_key_id, idempotency_key),
    ).fetchone()
    if row is None:
        return None
    fingerprint = row.pop("idempotency_fingerprint")
    return _job(row), fingerprint


def delete_job(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,))


def get_job(conn: psycopg.Connection, job_id: UUID, team_id: UUID | None) -> Job | None:
    """The job, if it belongs to ``team_id`` (None: to any team, as the workers read it)."""
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %(job)s AND (%(team)s::uuid IS NULL OR team_id = %(team)s)",
        {"job": job_id, "team": team_id},
    ).fetchone()
    return _job(row) if row else None


def list_jobs(conn: psycopg.Connection, team_id: UUID, limit: int, status: JobStatus | None = None,
              batch_id: UUID | None = None, cursor: str | None = None) -> Page[Job]:
    """A page of the team's jobs, newest first (InvalidCursor for a cursor of another list)."""
    after = decode_cursor(cursor, ("t", "id"))
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE team_id = %(team)s AND (%(status)s::text IS NULL OR status = "
        "%(status)s) AND (%(batch)s::uuid IS NULL OR batch_id = %(batch)s) "
        "AND (%(t)s::timestamptz IS NULL OR (created_at, id) < (%(t)s::timestamptz, %(id)s::uuid)) "
        "ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"team": team_id, "status": status, "batch": batch_id, "limit": limit + 1,
         "t": after["t"] if after else None, "id": after["id"] if after else None},
    ).fetchall()
    return page_of([_job(row) for row in rows], limit,
                   lambda job: {"t": job.created_at.isoformat(), "id": str(job.id)})


@dataclass(frozen=True)
class MediaSource:
    """Where the worker reads a job's video, whether the job owns (and so removes) that file, the URL it is
    fetched from first (None: it was uploaded or named on the server), the job's options and its team."""

    path: str
    owns_media: bool
    url: str | None
    options: JobOptions
    team_id: UUID


def get_media_source(conn: psycopg.Connection, job_id: UUID) -> MediaSource | None:
    row = conn.execute("SELECT media_path, owns_media, source_url, options, team_id FROM jobs WHERE id = %s",
                       (job_id,)).fetchone()
    return MediaSource(row[0], row[1], row[2], JobOptions.model_validate(row[3]), row[4]) if row else None


def set_plan(conn: psycopg.Connection, job_id: UUID, media: MediaInfo, modules: list[Module]) -> None:
    """What planning found and fixed: the probed media and the modules the job runs; the job analyses now."""
    conn.execute("UPDATE jobs SET media = %s, modules = %s, step = 'analysing' WHERE id = %s",
                 (Jsonb(media.model_dump()), [str(m) for m in modules], job_id))


def set_coverage(conn: psycopg.Connection, job_id: UUID, coverage: Coverage | None,
                 warnings: list[JobWarning]) -> None:
    conn.execute("UPDATE jobs SET coverage = %s, warnings = %s WHERE id = %s",
                 (Jsonb(coverage.model_dump(mode="json")) if coverage else None,
                  Jsonb([w.model_dump(mode="json") for w in warnings]), job_id))


def set_step(conn: psycopg.Connection, job_id: UUID, step: str) -> None:
    conn.execute("UPDATE jobs SET step = %s WHERE id = %s", (step, job_id))


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
    after = decode_cursor(cursor, ("t", "id"))
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


def face_embedding(conn: psycopg.Connection, finding_id: int, team_id: UUID) -> list[float] | None:
    """The face finding's embedding, if its job belongs to ``team_id``."""
    row = conn.execute("SELECT e.embedding::text FROM face_embeddings e JOIN jobs j ON j.id = e.job_id "
                       "WHERE e.finding_id = %s AND j.team_id = %s", (finding_id, team_id)).fetchone()
    return json.loads(row[0]) if row else None


def nearest_findings(conn: psycopg.Connection, table: str, team_id: UUID, embedding: list[float], limit: int,
                     max_distance: float) -> list[FrameHit]:
    """Findings across the team's jobs whose embedding in ``table`` (faces, CLIP frames) is nearest to
    ``embedding`` (cosine distance, HNSW index), nearest first."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT f.job_id, j.source_name, {F_FINDING_COLUMNS}, e.embedding <=> %(v)s::vector AS distance "
        f"FROM {table} e JOIN findings f ON f.id = e.finding_id JOIN jobs j ON j.id = e.job_id "
        "WHERE j.team_id = %(team)s AND e.embedding <=> %(v)s::vector <= %(max)s "
        "ORDER BY e.embedding <=> %(v)s::vector LIMIT %(limit)s",
        {"v": vector_text(embedding), "team": team_id, "max": max_distance, "limit": limit}).fetchall()
    return [FrameHit(job_id=row.pop("job_id"), source_name=row.pop("source_name"), cosine_distance=row.pop("distance"),
                     finding=finding_of(row)) for row in rows]


# ---- teams and API keys --------------------------------------------------------------------------

_TEAM_COLUMNS = ("id, name, operator, max_running_jobs, max_queued_jobs, max_video_hours_per_day, media_retention_s, "
                 "created_at")
# The team every deployment has: data from before teams moved into it, and its admins act for any team.
OPERATOR_TEAM_ID = UUID("00000000-0000-0000-0000-000000000001")


def create_team(conn: psycopg.Connection, team_id: UUID, name: str, limits: TeamLimits) -> Team:
    row = conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO teams (id, name, max_running_jobs, max_queued_jobs, max_video_hours_per_day, media_retention_s) "
        f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_TEAM_COLUMNS}",
        (team_id, name, limits.max_running_jobs, limits.max_queued_jobs, limits.max_video_hours_per_day,
         limits.media_retention_s),
    ).fetchone()
    assert row is not None
    return Team.model_validate(row)


def team_by_name(conn: psycopg.Connection, name: str) -> Team | None:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE name = %s", (name,)).fetchone()
    return Team.model_validate(row) if row else None


def get_team(conn: psycopg.Connection, team_id: UUID) -> Team:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE id = %s", (team_id,)).fetchone()
    assert row is not None, "every key's team exists"
    return Team.model_validate(row)


def list_teams(conn: psycopg.Connection, team_id: UUID | None = None) -> list[Team]:
    """Every team, or only ``team_id``'s."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE %(team)s::uuid IS NULL OR id = %(team)s ORDER BY name",
        {"team": team_id}).fetchall()
    return [Team.model_validate(row) for row in rows]


def set_team_limits(conn: psycopg.Connection, team_id: UUID, limits: TeamLimits) -> Team:
    row = conn.cursor(row_factory=dict_row).execute(
        "UPDATE teams SET max_running_jobs = %s, max_queued_jobs = %s, max_video_hours_per_day = %s, "
        f"media_retention_s = %s WHERE id = %s RETURNING {_TEAM_COLUMNS}",
        (limits.max_running_jobs, limits.max_queued_jobs, limits.max_video_hours_per_day, limits.media_retention_s,
         team_id),
    ).fetchone()
    assert row is not None
    return Team.model_validate(row)


@dataclass(frozen=True)
class TeamUsage:
    running: int
    waiting: int  # pending or queued
    video_hours_24h: float
    oldest_in_window_s: float | None  # seconds since the oldest job counted in video_hours_24h was submitted


def lock_team(conn: psycopg.Connection, team_id: UUID) -> None:
    """Serialise, until the transaction ends, what counts a team's jobs and then adds or starts one."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"team:{team_id}",))


def team_usage(conn: psycopg.Connection, team_id: UUID) -> TeamUsage:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status IN ('pending', 'queued')), "
        "coalesce(sum((media->>'duration_s')::float) FILTER (WHERE created_at > now() - interval '1 day'), 0) / 3600, "
        "extract(epoch FROM now() - min(created_at) FILTER (WHERE created_at > now() - interval '1 day' "
        "AND media IS NOT NULL)) FROM jobs WHERE team_id = %s", (team_id,)).fetchone()
    assert row is not None
    return TeamUsage(row[0], row[1], float(row[2]), float(row[3]) if row[3] is not None else None)


_API_KEY_COLUMNS = ("k.id, t.name AS team, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, k.revoked_at, "
                    "k.team_id, t.operator")


@dataclass(frozen=True)
class KeyHolder:
    """A live key with what the gateway needs to scope its requests: its team, and whether that is the operator."""

    key: ApiKey
    team_id: UUID
    operator: bool


def _key_holder(row: dict) -> KeyHolder:
    team_id, operator = row.pop("team_id"), row.pop("operator")
    return KeyHolder(ApiKey.model_validate(row), team_id, operator)


def create_api_key(conn: psycopg.Connection, key_id: UUID, team_id: UUID, name: str, prefix: str, key_sha256: str,
                   scopes: list[Scope]) -> ApiKey:
    conn.execute("INSERT INTO api_keys (id, team_id, name, prefix, key_sha256, scopes) VALUES (%s, %s, %s, %s, %s, %s)",
                 (key_id, team_id, name, prefix, key_sha256, [str(scope) for scope in scopes]))
    return _api_key(conn, key_id)


def _api_key(conn: psycopg.Connection, key_id: UUID) -> ApiKey:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.id = %s",
        (key_id,)).fetchone()
    assert row is not None
    return _key_holder(row).key


# A key's last use is recorded at most this often: every request writing it would turn each read into a write.
LAST_USED_RESOLUTION = "1 minute"


def api_key_by_hash(conn: psycopg.Connection, key_sha256: str) -> KeyHolder | None:
    """The live (not revoked) key with this hash, marking it used (if its last use is older than a minute)."""
    row = conn.cursor(row_factory=dict_row).execute(
        f"WITH found AS (SELECT {_API_KEY_COLUMNS} FROM api_keys k JOIN teams t ON t.id = k.team_id "
        "WHERE k.key_sha256 = %s AND k.revoked_at IS NULL), "
        "used AS (UPDATE api_keys SET last_used_at = now() WHERE id IN (SELECT id FROM found WHERE last_used_at "
        f"IS NULL OR last_used_at < now() - interval '{LAST_USED_RESOLUTION}')) SELECT * FROM found",
        (key_sha256,),
    ).fetchone()
    return _key_holder(row) if row else None


def list_api_keys(conn: psycopg.Connection, team_id: UUID) -> list[ApiKey]:
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.team_id = %s "
        "ORDER BY k.created_at", (team_id,)).fetchall()
    return [_key_holder(row).key for row in rows]


def revoke_api_key(conn: psycopg.Connection, team_id: UUID, name: str) -> ApiKey | None:
    """The team's key named ``name``, revoked now; None if the team has no live key of that name."""
    row = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE team_id = %s AND name = %s "
                       "AND revoked_at IS NULL RETURNING id", (team_id, name)).fetchone()
    return _api_key(conn, row[0]) if row else None


def delete_api_key(conn: psycopg.Connection, team_id: UUID, name: str) -> None:
    conn.execute("DELETE FROM api_keys WHERE team_id = %s AND name = %s", (team_id, name))


# ---- job control, audit trail, webhooks ----------------------------------------------------------

def transition(conn: psycopg.Connection, job_id: UUID, allowed: Iterable[JobStatus], to: JobStatus, actor: str,
               reason: str | None = None, error: tuple[ErrorCode, str] | None = None,
               retryable: bool = False) -> Job | None:
    """Move a job from one of the ``allowed`` statuses to ``to``; None if it was in none of them.

    Entering a final status queues the job's webhook event in the same transaction, so an event is
    neither lost nor sent for a change that did not happen.
    """
    with acting(conn, actor, reason):
        row = conn.cursor(row_factory=dict_row).execute(
            "UPDATE jobs SET status = %(to)s, "
            "started_at = CASE WHEN %(to)s = 'running' THEN coalesce(started_at, now()) ELSE started_at END, "
            "finished_at = CASE WHEN %(final)s THEN now() END, step = CASE WHEN %(final)s THEN NULL ELSE step END, "
            "progress = CASE WHEN %(to)s = 'succeeded' THEN 1 ELSE progress END, "
            "error_code = %(code)s, error_message = %(message)s, retryable = %(retryable)s "
            f"WHERE id = %(job)s AND status = ANY(%(allowed)s) RETURNING {_JOB_COLUMNS}",
            {"to": to, "final": to.is_final, "code": error[0] if error else None,
             "message": error[1] if error else None, "retryable": retryable, "job": job_id,
             "allowed": [str(status) for status in allowed]},
        ).fetchone()
        job = _job(row) if row else None
        if job is not None and to.is_final and job.callback_url:
            conn.execute("INSERT INTO webhook_deliveries (job_id, url, event, status) VALUES (%s, %s, %s, 'pending')",
                         (job_id, job.callback_url, Jsonb(job_event_payload(job))))
    return job


def job_event_payload(job: Job) -> dict:
    """The JSON a webhook receives when a job ends."""
    return {"type": f"job.{job.status}", "job": job.model_dump(mode="json", exclude={"media", "options"})}


def set_priority(conn: psycopg.Connection, job_id: UUID, priority: int, actor: str) -> Job | None:
    """The job at its new priority; None if it has ended meanwhile (an ended job's priority stays)."""
    with acting(conn, actor, f"priority {priority}"):
        row = conn.cursor(row_factory=dict_row).execute(
            f"UPDATE jobs SET priority = %s WHERE id = %s AND status NOT IN ('succeeded', 'failed', 'cancelled') "
            f"RETURNING {_JOB_COLUMNS}", (priority, job_id)
        ).fetchone()
    return _job(row) if row else None


def job_events(conn: psycopg.Connection, job_id: UUID) -> list[JobEvent]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT at, kind, from_status, to_status, priority, actor, reason FROM job_events WHERE job_id = %s "
        "ORDER BY id",
        (job_id,),
    ).fetchall()
    return [JobEvent.model_validate(row) for row in rows]


def still_waiting(conn: psycopg.Connection, job_id: UUID) -> None:
    """A queued job that waits for its team's slot has a plan task looking after it: not stale."""
    conn.execute("UPDATE jobs SET updated_at = now() WHERE id = %s", (job_id,))


def stale_queued_jobs(conn: psycopg.Connection, after_s: float) -> list[tuple[UUID, int]]:
    """Jobs queued this long with no worker having planned them (their message was lost), marked as resent."""
    rows = conn.execute(
        "UPDATE jobs SET updated_at = now() WHERE status = 'queued' AND updated_at < now() - make_interval(secs => %s) "
        "RETURNING id, priority", (after_s,)).fetchall()
    return [(row[0], row[1]) for row in rows]


def live_media_paths(conn: psycopg.Connection, retention_s: float) -> set[str]:
    """Files jobs still need: those of unfinished jobs, of retryable failures within the retention, and the
    videos kept for review."""
    rows = conn.execute(
        "SELECT media_path FROM jobs WHERE owns_media AND (status NOT IN ('succeeded', 'failed', 'cancelled') "
        "OR (status = 'failed' AND retryable AND finished_at > now() - make_interval(secs => %s)) "
        "OR media_kept_until > now())",
        (retention_s,),
    ).fetchall()
    return {row[0] for row in rows}


def keep_media(conn: psycopg.Connection, job_id: UUID, default_retention_s: float) -> bool:
    """Keep a succeeded job's video for review for its team's retention (or ``default_retention_s``); False if it
    is kept for no time at all (the caller removes it now)."""
    row = conn.execute(
        "UPDATE jobs j SET media_kept_until = now() + make_interval(secs => coalesce(t.media_retention_s, %s)) "
        "FROM teams t WHERE t.id = j.team_id AND j.id = %s AND coalesce(t.media_retention_s, %s) > 0 RETURNING j.id",
        (default_retention_s, job_id, default_retention_s)).fetchone()
    return row is not None


def kept_media(conn: psycopg.Connection, job_id: UUID, team_id: UUID) -> str | None:
    """The path of the team's job's video while it is kept for review (or, not owned, the server's own file)."""
    row = conn.execute(
        "SELECT media_path FROM jobs WHERE id = %s AND team_id = %s AND (NOT owns_media OR media_kept_until > now() "
        "OR status NOT IN ('succeeded', 'failed', 'cancelled'))", (job_id, team_id)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Delivery:
    id: int
    job_id: UUID
    url: str
    event: dict
    attempts: int


def claim_due_deliveries(conn: psycopg.Connection, hold_s: float, limit: int = 20) -> list[Delivery]:
    """Webhook deliveries due now, held for ``hold_s`` so that a second maintenance loop skips them."""
    rows = conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => %s), attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now() "
        "ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, job_id, url, event, attempts",
        (hold_s, limit),
    ).fetchall()
    return [Delivery(*row) for row in rows]


def record_delivery(conn: psycopg.Connection, delivery_id: int, error: str | None, retry_in_s: float | None) -> None:
    """The outcome of an attempt: delivered (no error), to be retried in ``retry_in_s``, or given up."""
    status = "delivered" if error is None else ("pending" if retry_in_s is not None else "failed")
    conn.execute(
        "UPDATE webhook_deliveries SET status = %s, last_error = %s, "
        "delivered_at = CASE WHEN %s = 'delivered' THEN now() END, "
        "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
        (status, error, status, retry_in_s or 0, delivery_id),
    )


def deliveries(conn: psycopg.Connection, job_id: UUID) -> list[WebhookDelivery]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT url, status, attempts, last_error, created_at, delivered_at FROM webhook_deliveries "
        "WHERE job_id = %s ORDER BY id", (job_id,)).fetchall()
    return [WebhookDelivery.model_validate(row) for row in rows]


# ---- batches -------------------------------------------------------------------------------------

def create_batch(conn: psycopg.Connection, batch_id: UUID, team_id: UUID, name: str, auto_start: bool, priority: int,
                 callback_url: str | None, api_key_id: UUID | None) -> Batch:
    conn.execute("INSERT INTO batches (id, team_id, name, auto_start, priority, callback_url, api_key_id) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (batch_id, team_id, name, auto_start, priority, callback_url, api_key_id))
    batch = get_batch(conn, batch_id, team_id)
    assert batch is not None
    return batch


# A batch with its jobs counted per status and their mean progress, in one query (also for a list of batches).
_BATCH_SELECT = (
    "SELECT b.id, b.name, b.auto_start, b.priority, b.callback_url, b.created_at, "
    "coalesce(sum(s.n), 0)::int AS jobs, coalesce(sum(s.progress) / sum(s.n), 0)::real AS progress, "
    "coalesce(jsonb_object_agg(s.status, s.n) FILTER (WHERE s.status IS NOT NULL), '{}') AS counts "
    "FROM batches b LEFT JOIN LATERAL (SELECT status, count(*) AS n, sum(progress) AS progress FROM jobs "
    "WHERE batch_id = b.id GROUP BY status) s ON true "
)


def get_batch(conn: psycopg.Connection, batch_id: UUID, team_id: UUID) -> Batch | None:
    row = conn.cursor(row_factory=dict_row).execute(
        _BATCH_SELECT + "WHERE b.id = %s AND b.team_id = %s GROUP BY b.id", (batch_id, team_id)).fetchone()
    return Batch.model_validate(row) if row else None


def list_batches(conn: psycopg.Connection, team_id: UUID, limit: int) -> list[Batch]:
    rows = conn.cursor(row_factory=dict_row).execute(
        _BATCH_SELECT + "WHERE b.team_id = %s GROUP BY b.id ORDER BY b.created_at DESC LIMIT %s",
        (team_id, limit)).fetchall()
    return [Batch.model_validate(row) for row in rows]


def batch_job_ids(conn: psycopg.Connection, batch_id: UUID, statuses: Iterable[JobStatus] | None = None) -> list[UUID]:
    rows = conn.execute(
        "SELECT id FROM jobs WHERE batch_id = %s AND (%s::text[] IS NULL OR status = ANY(%s)) ORDER BY created_at",
        (batch_id, *([[str(s) for s in statuses]] * 2 if statuses is not None else [None, None])),
    ).fetchall()
    return [row[0] for row in rows]


def set_batch_priority(conn: psycopg.Connection, batch_id: UUID, priority: int) -> bool:
    cur = conn.execute("UPDATE batches SET priority = %s WHERE id = %s", (priority, batch_id))
    return cur.rowcount == 1
