"""The SQL of the review workflow: risk and the review queue (claims are leases), decisions, search, people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.db.paging import Page, decode_cursor, page_of
from vidsafe.db.queries import F_FINDING_COLUMNS, finding_of, nearest_findings, vector_text
from vidsafe.domain import (
    Decision,
    DecisionAction,
    DecisionRequest,
    FrameHit,
    Module,
    Person,
    PersonUpdate,
    Preferences,
    ReviewItem,
    ReviewQueue,
    RiskReason,
    SearchHit,
)

# ---- risk and the review queue -------------------------------------------------------------------


def set_risk(conn: psycopg.Connection, job_id: UUID, risk: float, reasons: list[RiskReason]) -> None:
    """The job's risk, and its item in the review queue (an item already decided keeps its state)."""
    with conn.transaction():
        conn.execute("UPDATE jobs SET risk = %s, risk_reasons = %s WHERE id = %s",
                     (risk, Jsonb([r.model_dump(mode="json") for r in reasons]), job_id))
        conn.execute("INSERT INTO review_items (job_id, team_id, risk) SELECT id, team_id, %s FROM jobs WHERE id = %s "
                     "ON CONFLICT (job_id) DO UPDATE SET risk = excluded.risk, updated_at = now()", (risk, job_id))


@dataclass(frozen=True)
class QueueFilter:
    queue: ReviewQueue = ReviewQueue.review
    state: str | None = "open"  # open | decided | None (both)
    module: Module | None = None
    label: str | None = None
    batch_id: UUID | None = None
    min_risk: float | None = None

    def params(self) -> dict:
        return {"queue": self.queue, "state": self.state, "module": self.module, "label": self.label,
                "batch": self.batch_id, "min_risk": self.min_risk}


# Items of a succeeded job only; filtered by module and label through the job's segments.
_ITEM_SELECT = (
    "SELECT r.job_id, j.source_name, j.batch_id, r.queue, r.state, r.risk, j.risk_reasons, "
    "CASE WHEN r.lease_until > now() THEN r.claimed_by_name END AS claimed_by, "
    "CASE WHEN r.lease_until > now() THEN r.lease_until END AS lease_until, a.name AS assigned_to, r.created_at "
    "FROM review_items r JOIN jobs j ON j.id = r.job_id LEFT JOIN api_keys a ON a.id = r.assigned_to "
)
_ITEM_FILTER = (
    "r.team_id = %(team)s AND j.status = 'succeeded' AND r.queue = %(queue)s "
    "AND (%(state)s::text IS NULL OR r.state = %(state)s) AND (%(batch)s::uuid IS NULL OR j.batch_id = %(batch)s) "
    "AND (%(min_risk)s::float8 IS NULL OR r.risk >= %(min_risk)s) "
    "AND (%(module)s::text IS NULL AND %(label)s::text IS NULL OR EXISTS (SELECT 1 FROM segments s "
    "WHERE s.job_id = r.job_id AND (%(module)s::text IS NULL OR s.module = %(module)s) "
    "AND (%(label)s::text IS NULL OR s.label = %(label)s))) "
)


def review_items(conn: psycopg.Connection, team_id: UUID, where: QueueFilter, limit: int,
                 cursor: str | None) -> Page[ReviewItem]:
    """A page of the team's queue, riskiest first."""
    after = decode_cursor(cursor, ("r", "t", "id"))
    rows = conn.cursor(row_factory=dict_row).execute(
        _ITEM_SELECT + "WHERE " + _ITEM_FILTER +
        "AND (%(r)s::float8 IS NULL OR (-r.risk::float8, r.created_at, r.job_id) > "
        "(-%(r)s::float8, %(t)s::timestamptz, %(id)s::uuid)) "
        "ORDER BY r.risk DESC, r.created_at, r.job_id LIMIT %(limit)s",
        {**where.params(), "team": team_id, "limit": limit + 1, "r": after["r"] if after else None,
         "t": after["t"] if after else None, "id": after["id"] if after else None},
    ).fetchall()
    return page_of([ReviewItem.model_validate(row) for row in rows], limit,
                   lambda item: {"r": item.risk, "t": item.created_at.isoformat(), "id": str(item.job_id)})


def queue_counts(conn: psycopg.Connection, team_id: UUID) -> dict[str, int]:
    """Open items per queue, and how many of them are claimed now."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE r.queue = 'review'), count(*) FILTER (WHERE r.queue = 'escalation'), "
        "count(*) FILTER (WHERE r.lease_until > now()) FROM review_items r JOIN jobs j ON j.id = r.job_id "
        "WHERE r.team_id = %s AND r.state = 'open' AND j.status = 'succeeded'", (team_id,)).fetchone()
    assert row is not None
    return {"review": row[0], "escalation": row[1], "claimed": row[2]}


def get_item(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> ReviewItem | None:
    row = conn.cursor(row_factory=dict_row).execute(
        _ITEM_SELECT + "WHERE r.team_id = %s AND r.job_id = %s", (team_id, job_id)).fetchone()
    return ReviewItem.model_validate(row) if row else None


def claim_next(conn: psycopg.Connection, team_id: UUID, key_id: UUID, key_name: str, where: QueueFilter,
               lease_s: float) -> ReviewItem | None:
    """The riskiest open item no one holds (assigned to this reviewer or to no one, not skipped by them), claimed
    by this reviewer for ``lease_s``; an item they already hold comes first. FOR UPDATE SKIP LOCKED: two
    reviewers claiming at once get two items."""
    row = conn.execute(
        "UPDATE review_items SET claimed_by = %(key)s, claimed_by_name = %(name)s, "
        "lease_until = now() + make_interval(secs => %(lease)s), updated_at = now() "
        "WHERE job_id = (SELECT r.job_id FROM review_items r JOIN jobs j ON j.id = r.job_id WHERE " + _ITEM_FILTER +
        "AND (r.lease_until IS NULL OR r.lease_until <= now() OR r.claimed_by = %(key)s) "
        "AND (r.assigned_to IS NULL OR r.assigned_to = %(key)s) AND NOT %(key)s = ANY(r.skipped_by) "
        "ORDER BY (r.claimed_by = %(key)s AND r.lease_until > now()) IS TRUE DESC, r.risk DESC, r.created_at "
        "LIMIT 1 FOR UPDATE OF r SKIP LOCKED) RETURNING job_id",
        {**where.params(), "state": "open", "team": team_id, "key": key_id, "name": key_name, "lease": lease_s},
    ).fetchone()
    return get_item(conn, team_id, row[0]) if row else None


def renew_claim(conn: psycopg.Connection, team_id: UUID, job_id: UUID, key_id: UUID, lease_s: float) -> bool:
    """Extend this reviewer's live claim; False if they do not hold it (it ran out and another took it)."""
    cur = conn.execute(
        "UPDATE review_items SET lease_until = now() + make_interval(secs => %s), updated_at = now() "
        "WHERE team_id = %s AND job_id = %s AND claimed_by = %s AND lease_until > now() AND state = 'open'",
        (lease_s, team_id, job_id, key_id))
    return cur.rowcount == 1


def release_claim(conn: psycopg.Connection, team_id: UUID, job_id: UUID, key_id: UUID, skip: bool) -> bool:
    """Give the item back (``skip``: and never offer it to this reviewer again); False if they do not hold it."""
    cur = conn.execute(
        "UPDATE review_items SET claimed_by = NULL, claimed_by_name = NULL, lease_until = NULL, updated_at = now(), "
        "skipped_by = CASE WHEN %s THEN array_append(skipped_by, %s) ELSE skipped_by END "
        "WHERE team_id = %s AND job_id = %s AND claimed_by = %s AND lease_until > now()",
        (skip, key_id, team_id, job_id, key_id))
    return cur.rowcount == 1


def assign(conn: psycopg.Connection, team_id: UUID, job_id: UUID, key_id: UUID | None) -> bool:
    """A lead hands the item to a reviewer (None: to anyone): any claim on it ends, and skips are forgotten."""
    cur = conn.execute(
        "UPDATE review_items SET assigned_to = %s, claimed_by = NULL, claimed_by_name = NULL, lease_until = NULL, "
        "skipped_by = '{}', updated_at = now() WHERE team_id = %s AND job_id = %s", (key_id, team_id, job_id))
    return cur.rowcount == 1


def team_key_id(conn: psycopg.Connection, team_id: UUID, name: str) -> UUID | None:
    """The team's live key named ``name``."""
    row = conn.execute("SELECT id FROM api_keys WHERE team_id = %s AND name = %s AND revoked_at IS NULL",
                       (team_id, name)).fetchone()
    return row[0] if row else None


def claim_holder(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> UUID | None:
    row = conn.execute("SELECT claimed_by FROM review_items WHERE team_id = %s AND job_id = %s AND lease_until > now()",
                       (team_id, job_id)).fetchone()
    return row[0] if row else None


# ---- decisions -----------------------------------------------------------------------------------

_DECISION_COLUMNS = "id, job_id, action, start_s, end_s, policy_label, note, actor, at"


def add_decision(conn: psycopg.Connection, team_id: UUID, job_id: UUID, decision: DecisionRequest, actor: str,
                 key_id: UUID) -> Decision:
    """Record a decision (its audit event is written by a trigger) and move the job's review item: an escalation
    to the escalation queue, open; an approval or rejection decides it. The claim ends either way."""
    with conn.transaction():
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO decisions (job_id, team_id, action, start_s, end_s, policy_label, note, actor, api_key_id) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DECISION_COLUMNS}",
            (job_id, team_id, decision.action, decision.start_s, decision.end_s, decision.policy_label,
             decision.note, actor, key_id)).fetchone()
        escalated = decision.action == DecisionAction.escalate
        conn.execute(
            "UPDATE review_items SET queue = CASE WHEN %s THEN 'escalation' ELSE queue END, "
            "state = CASE WHEN %s THEN 'open' ELSE 'decided' END, claimed_by = NULL, claimed_by_name = NULL, "
            "lease_until = NULL, assigned_to = CASE WHEN %s THEN NULL ELSE assigned_to END, skipped_by = '{}', "
            "updated_at = now() WHERE job_id = %s",
            (escalated, escalated, escalated, job_id))
    assert row is not None
    return Decision.model_validate(row)


def decisions(conn: psycopg.Connection, team_id: UUID, job_id: UUID | None, limit: int,
              cursor: str | None) -> Page[Decision]:
    """A page of the team's decisions (or one job's), newest first."""
    after = decode_cursor(cursor, ("id",))
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE team_id = %(team)s "
        "AND (%(job)s::uuid IS NULL OR job_id = %(job)s) AND (%(after)s::bigint IS NULL OR id < %(after)s) "
        "ORDER BY id DESC LIMIT %(limit)s",
        {"team": team_id, "job": job_id, "after": after["id"] if after else None, "limit": limit + 1}).fetchall()
    return page_of([Decision.model_validate(row) for row in rows], limit, lambda d: {"id": d.id})


# ---- search --------------------------------------------------------------------------------------

RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al.): a hit's score is sum of 1 / (k + rank)
SEARCH_DEPTH = 200  # hits taken from each ranking before fusion
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


def fuse(rankings: dict[str, list[dict]]) -> list[SearchHit]:
    """Reciprocal rank fusion of rankings of findings (by name), one hit per text of a job (the caption seen on
    many frames, at its first best-ranked place): best fused score first."""
    scores: dict[tuple, float] = {}
    rows: dict[tuple, dict] = {}
    matched: dict[tuple, list[str]] = {}
    for name, ranking in rankings.items():
        seen: set[tuple] = set()
        for row in ranking:
            key = (row["job_id"], row["module"], row["text"])
            if key in seen:
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + 1 / (RRF_K + len(seen))
            rows.setdefault(key, row)
            matched.setdefault(key, []).append(name)
    order = sorted(scores, key=lambda key: (-scores[key], rows[key]["id"]))
    return [SearchHit(job_id=rows[k]["job_id"], source_name=rows[k]["source_name"], finding_id=rows[k]["id"],
                      module=rows[k]["module"], text=rows[k]["text"], timestamp_s=rows[k]["timestamp_s"],
                      end_s=rows[k]["end_s"], score=round(scores[k], 6), matched_by=matched[k]) for k in order]


def frame_embedding(conn: psycopg.Connection, team_id: UUID, finding_id: int) -> list[float] | None:
    """The CLIP picture embedding of a finding's frame (the frame's ``frame`` finding), if the team's."""
    row = conn.execute(
        "SELECT e.embedding::text FROM findings f JOIN findings g ON g.job_id = f.job_id "
        "AND g.frame_index = f.frame_index JOIN clip_embeddings e ON e.finding_id = g.id "
        "JOIN jobs j ON j.id = f.job_id WHERE f.id = %s AND j.team_id = %s LIMIT 1", (finding_id, team_id)).fetchone()
    return json.loads(row[0]) if row else None


def faces_near(conn: psycopg.Connection, team_id: UUID, embedding: list[float], limit: int,
               max_distance: float) -> list[FrameHit]:
    """Faces across the team's jobs nearest to ``embedding`` (a face of an uploaded photo), nearest first."""
    return nearest_findings(conn, "face_embeddings", team_id, embedding, limit, max_distance)


def similar_frames(conn: psycopg.Connection, team_id: UUID, embedding: list[float], limit: int,
                   max_distance: float) -> list[FrameHit]:
    """Frames across the team's jobs that look like ``embedding`` (CLIP), nearest first."""
    return nearest_findings(conn, "clip_embeddings", team_id, embedding, limit, max_distance)


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
    after = decode_cursor(cursor, ("n", "id"))
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


def person_faces(conn: psycopg.Connection, team_id: UUID, person_id: UUID, limit: int) -> list[FrameHit]:
    """The person's faces, one per video first (every video they appear in), best scored."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT DISTINCT ON (f.job_id) f.job_id, j.source_name, "
        f"{F_FINDING_COLUMNS} FROM face_embeddings e "
        "JOIN findings f ON f.id = e.finding_id JOIN jobs j ON j.id = f.job_id "
        "WHERE e.person_id = %s AND j.team_id = %s ORDER BY f.job_id, f.score DESC LIMIT %s",
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


# ---- a reviewer's preferences --------------------------------------------------------------------


def preferences(conn: psycopg.Connection, key_id: UUID) -> Preferences:
    row = conn.execute("SELECT preferences FROM api_keys WHERE id = %s", (key_id,)).fetchone()
    return Preferences.model_validate(row[0] if row else {})


def set_preferences(conn: psycopg.Connection, key_id: UUID, prefs: Preferences) -> Preferences:
    conn.execute("UPDATE api_keys SET preferences = %s WHERE id = %s", (Jsonb(prefs.model_dump()), key_id))
    return prefs


# ---- monitoring ----------------------------------------------------------------------------------


def throughput(conn: psycopg.Connection, team_id: UUID) -> tuple[dict[str, int], int, float, int]:
    """(jobs per status, jobs finished in the last hour, their video seconds, their frames)."""
    counts = dict(conn.execute("SELECT status, count(*) FROM jobs WHERE team_id = %s GROUP BY status",
                               (team_id,)).fetchall())
    row = conn.execute(
        "SELECT count(*), coalesce(sum((media->>'duration_s')::float), 0), coalesce(sum(frames_analyzed), 0) "
        "FROM jobs WHERE team_id = %s AND status = 'succeeded' AND finished_at > now() - interval '1 hour'",
        (team_id,)).fetchone()
    assert row is not None
    return counts, row[0], float(row[1]), int(row[2])
