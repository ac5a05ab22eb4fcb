"""The SQL of team policies: versions saved, the live one (the newest), and the policy a team judges by."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import Policy, PolicyDocument, PolicyVersion
from vidsafe.policy import default_document
from vidsafe.settings import Settings

DEFAULT_VERSION = 0


def save(conn: psycopg.Connection, team_id: UUID, document: PolicyDocument, actor: str) -> Policy:
    """A new version of the team's policy, live at once. The team's row is locked so two saves number in turn."""
    with conn.transaction():
        conn.execute("SELECT 1 FROM teams WHERE id = %s FOR UPDATE", (team_id,))
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO team_policies (team_id, version, document, created_by) "
            "SELECT %s, coalesce(max(version), 0) + 1, %s, %s FROM team_policies WHERE team_id = %s "
            "RETURNING version, created_at, created_by",
            (team_id, Jsonb(document.model_dump(mode="json")), actor, team_id)).fetchone()
    assert row is not None
    return Policy(**row, live=True, document=document)


def _policy(row: dict | None, live_version: int | None) -> Policy | None:
    if row is None:
        return None
    return Policy(version=row["version"], created_at=row["created_at"], created_by=row["created_by"],
                  live=row["version"] == live_version, document=PolicyDocument.model_validate(row["document"]))


def live_version(conn: psycopg.Connection, team_id: UUID) -> int | None:
    return conn.execute("SELECT max(version) FROM team_policies WHERE team_id = %s", (team_id,)).fetchone()[0]


def get(conn: psycopg.Connection, team_id: UUID, version: int) -> Policy | None:
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT version, document, created_at, created_by FROM team_policies WHERE team_id = %s AND version = %s",
        (team_id, version)).fetchone()
    return _policy(row, live_version(conn, team_id))


def versions(conn: psycopg.Connection, team_id: UUID) -> list[PolicyVersion]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT version, created_at, created_by, jsonb_array_length(document -> 'categories') AS categories "
        "FROM team_policies WHERE team_id = %s ORDER BY version DESC", (team_id,)).fetchall()
    return [PolicyVersion(**row, live=n == 0) for n, row in enumerate(rows)]


def default_policy_of(settings: Settings) -> Policy:
    return Policy(version=DEFAULT_VERSION, created_at=None, created_by=None, live=True,
                  document=default_document(settings.risk_severities))


def team_policy(conn: psycopg.Connection, team_id: UUID, settings: Settings) -> Policy:
    """The policy the team judges by now: its live version (the newest), else the deployment's default."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT version, document, created_at, created_by FROM team_policies WHERE team_id = %s "
        "ORDER BY version DESC LIMIT 1", (team_id,)).fetchone()
    return _policy(row, row["version"] if row else None) or default_policy_of(settings)


def policy_at(conn: psycopg.Connection, team_id: UUID, version: int, settings: Settings) -> Policy | None:
    """A version of the team's policy (0: the default, live where the team has saved none)."""
    if version == DEFAULT_VERSION:
        default = default_policy_of(settings)
        return default.model_copy(update={"live": live_version(conn, team_id) is None})
    return get(conn, team_id, version)


def judged_jobs(conn: psycopg.Connection, team_id: UUID, limit: int) -> list[tuple[UUID, str, float, list[Segment]]]:
    """The team's newest succeeded jobs (at most ``limit``): id, name, risk and segments, for a dry run."""
    rows = conn.execute(
        "WITH recent AS (SELECT id, source_name, coalesce(risk, 0) AS risk, created_at FROM jobs "
        "WHERE team_id = %s AND status = 'succeeded' ORDER BY created_at DESC LIMIT %s) "
        "SELECT r.id, r.source_name, r.risk, s.module, s.label, s.start_s, s.end_s, s.max_score, s.mean_score, s.count "
        "FROM recent r LEFT JOIN segments s ON s.job_id = r.id ORDER BY r.created_at DESC, r.id, s.start_s",
        (team_id, limit)).fetchall()
    jobs: dict[UUID, tuple[UUID, str, float, list[Segment]]] = {}
    for job_id, name, risk, module, label, start, end, top, mean, count in rows:
        segments = jobs.setdefault(job_id, (job_id, name, risk, []))[3]
        if module is not None:
            segments.append(Segment(module=module, label=label, start_s=start, end_s=end, max_score=top,
                                    mean_score=mean, count=count))
    return list(jobs.values())


def readings(conn: psycopg.Connection, job_ids: list[UUID]) -> dict[UUID, list[tuple[str, float, float]]]:
    """What the jobs' OCR lines and speech say: text, start and end (s), for matching terms in a dry run."""
    found: dict[UUID, list[tuple[str, float, float]]] = {}
    rows = conn.execute(
        "SELECT job_id, text, timestamp_s, coalesce(end_s, timestamp_s) FROM findings "
        "WHERE job_id = ANY(%s) AND module IN ('ocr', 'speech') AND text IS NOT NULL AND text <> ''", (job_ids,))
    for job_id, text, start, end in rows.fetchall():
        found.setdefault(job_id, []).append((text, start, end))
    return found
