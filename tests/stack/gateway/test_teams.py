"""Teams: a key sees and acts only within its team (another team's resource is a 404), every route of the
OpenAPI document is tried across teams, the operator team's admins act for a team only when they name it,
per-team limits are 429s with Retry-After, and data from before teams migrates into the default team."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers import hostile_corpus
from tests.helpers.support import stored_uploads, upload, upload_file, wait_for_job
from vidsafe.db.migrate import apply_migrations, available_migrations
from vidsafe.domain.api import API_KEY_HEADER, TEAM_HEADER
from vidsafe.settings import Settings

FACES = '{"modules": ["faces"]}'
# Every action a route's {action} may name: each is tried on the other team's job and batch.
ACTIONS = ("start", "pause", "resume", "cancel", "retry")


@dataclass
class Team:
    name: str
    client: httpx.Client  # an admin key of the team: every scope, so only the team can stop it


def _make_team(running_stack: Settings, api: httpx.Client, name: str, **limits: float) -> Team:
    """A new team (created by the operator's key) and a client with an admin key the operator issued for it."""
    created = api.post("/v1/teams", json={"name": name, **limits})
    assert created.status_code == 201, created.text
    key = api.post("/v1/keys", json={"name": f"{name}-admin", "scopes": ["admin"]}, headers={TEAM_HEADER: name})
    assert key.status_code == 201 and key.json()["key"]["team"] == name, key.text
    return Team(name, httpx.Client(base_url=running_stack.gateway_url, timeout=60,
                                   headers={API_KEY_HEADER: key.json()["secret"]}))


@pytest.fixture(scope="module")
def team_a(running_stack: Settings, api: httpx.Client) -> Iterator[Team]:
    team = _make_team(running_stack, api, "moderation-a")
    with team.client:
        yield team


@pytest.fixture(scope="module")
def team_b(running_stack: Settings, api: httpx.Client) -> Iterator[Team]:
    team = _make_team(running_stack, api, "moderation-b")
    with team.client:
        yield team


@dataclass
class Holdings:
    """What team A owns, to be looked for with team B's key."""

    waiting_job: dict  # pending (start=false): its upload stays on disk until it is started or cancelled
    faces_job: dict
    batch: dict
    face_finding: int
    key_name: str
    person_id: str
    hash_list_id: str
    term_bank_id: str
    policy_version: int


@pytest.fixture(scope="module")
def holdings(team_a: Team, running_stack: Settings, sample_video: Path) -> Iterator[Holdings]:
    batch = team_a.client.post("/v1/batches", json={"name": "a-batch", "auto_start": False}).json()["batch"]
    waiting = upload(team_a.client, sample_video, params={"batch_id": batch["id"], "start": "false"})
    assert waiting.status_code == 201, waiting.text
    faces_job = wait_for_job(team_a.client, upload(team_a.client, sample_video, options=FACES).json()["id"])
    assert faces_job["status"] == "succeeded", faces_job
    findings = team_a.client.get(f"/v1/jobs/{faces_job['id']}/findings", params={"module": "faces"}).json()
    person = team_a.client.get("/v1/people").json()[0]["id"]
    hash_list = team_a.client.post("/v1/hash-lists", json={"name": "a-list"}).json()["id"]
    term_bank = team_a.client.post("/v1/term-banks", json={"name": "a-bank", "category": "spam"}).json()["id"]
    policy = team_a.client.post("/v1/policies", json=team_a.client.get("/v1/policies/live").json()["document"])
    assert policy.status_code == 201, policy.text
    yield Holdings(waiting.json(), faces_job, batch, findings["findings"][0]["id"], "moderation-a-admin", person,
                   hash_list, term_bank, policy.json()["version"])
    team_a.client.post(f"/v1/jobs/{waiting.json()['id']}/cancel")  # leaves the uploads folder empty


def _ids(holdings: Holdings) -> set[str]:
    return {holdings.waiting_job["id"], holdings.faces_job["id"], holdings.batch["id"], holdings.person_id,
            holdings.hash_list_id, holdings.term_bank_id}


def test_another_teams_resources_are_not_found(team_a: Team, team_b: Team, holdings: Holdings,
                                               running_stack: Settings) -> None:
    job_id, batch_id = holdings.waiting_job["id"], holdings.batch["id"]
    b = team_b.client
    for path, code in [(f"/v1/jobs/{job_id}", "job_not_found"), (f"/v1/jobs/{job_id}/findings", "job_not_found"),
                       (f"/v1/jobs/{job_id}/segments", "job_not_found"), (f"/v1/jobs/{job_id}/events", "job_not_found"),
                       (f"/v1/jobs/{job_id}/webhooks", "job_not_found"), (f"/v1/batches/{batch_id}", "batch_not_found"),
                       (f"/v1/batches/{batch_id}/jobs", "batch_not_found"),
                       (f"/v1/findings/{holdings.face_finding}/similar-faces", "face_not_found")]:
        refused = b.get(path)
        assert refused.status_code == 404 and refused.json()["detail"]["code"] == code, (path, refused.text)
    cancelled = b.post(f"/v1/jobs/{job_id}/cancel")
    assert cancelled.status_code == 404, cancelled.text
    assert upload_file(running_stack, job_id).is_file(), "another team's cancel removed nothing"
    assert team_a.client.get(f"/v1/jobs/{job_id}").json()["status"] == "pending"
    # B's lists hold none of A's; B cannot add to A's batch either.
    assert not _ids(holdings) & {j["id"] for j in b.get("/v1/jobs").json()}
    assert not _ids(holdings) & {x["id"] for x in b.get("/v1/batches").json()}
    assert [k["team"] for k in b.get("/v1/keys").json()] == ["moderation-b"]
    assert [t["name"] for t in b.get("/v1/teams").json()] == ["moderation-b"]
    joined = b.post("/v1/jobs/from-url", params={}, json={"url": "http://127.0.0.1:9/v.mp4", "batch_id": batch_id})
    assert joined.status_code == 404 and joined.json()["detail"]["code"] == "batch_not_found"


def test_an_upload_naming_another_teams_video_is_refused(team_a: Team, team_b: Team, api: httpx.Client,
                                                         running_stack: Settings, sample_video: Path) -> None:
    """Once, a 60-byte FFmpeg concat list naming another team's upload by its job id was analysed as that video. Now
    only the containers vidsafe analyses are opened, and each team's uploads are in a folder of its own."""
    victim = upload(team_a.client, sample_video, params={"start": "false"})
    assert victim.status_code == 201, victim.text
    victim_id = victim.json()["id"]
    teams = {team["name"]: team["id"] for team in api.get("/v1/teams").json()}
    assert upload_file(running_stack, victim_id).parent.name == teams[team_a.name], "the team's own folder"
    before = set(stored_uploads(running_stack))
    for named in (victim_id, f"../{teams[team_a.name]}/{victim_id}", str(upload_file(running_stack, victim_id))):
        for body in (f"ffconcat version 1.0\nfile {named}\n",
                     f"#EXTM3U\n#EXT-X-TARGETDURATION:12\n#EXTINF:12,\n{named}\n#EXT-X-ENDLIST\n"):
            refused = team_b.client.post("/v1/jobs", files={"file": ("clip.mp4", body.encode(), "video/mp4")})
            assert refused.status_code == 415, refused.text
            assert refused.json()["detail"]["code"] == "unsupported_container", refused.text
    assert team_b.client.get("/v1/jobs").json() == [], "no job was made"
    assert set(stored_uploads(running_stack)) == before, "nothing of the refused uploads stays"
    team_a.client.post(f"/v1/jobs/{victim_id}/cancel").raise_for_status()


def test_similar_faces_stay_within_the_team(team_a: Team, team_b: Team, holdings: Holdings,
                                            sample_video: Path) -> None:
    # B analyses the same video: the same face is in both teams' jobs, and each team finds only its own.
    b_job = wait_for_job(team_b.client, upload(team_b.client, sample_video, options=FACES).json()["id"])
    b_face = team_b.client.get(f"/v1/jobs/{b_job['id']}/findings", params={"module": "faces"}).json()["findings"][0]
    b_similar = team_b.client.get(f"/v1/findings/{b_face['id']}/similar-faces", params={"max_distance": 2}).json()
    a_similar = team_a.client.get(f"/v1/findings/{holdings.face_finding}/similar-faces",
                                  params={"max_distance": 2}).json()
    assert b_similar and {s["job_id"] for s in b_similar} == {b_job["id"]}
    assert a_similar and b_job["id"] not in {s["job_id"] for s in a_similar}


def _requests(openapi: dict, holdings: Holdings, team_a: str) -> Iterator[tuple[str, str, bool, dict]]:
    """Every operation of the OpenAPI document that reads or changes something (a GET, or a route with path
    parameters), its parameters naming team A's resources: (method, path, whether it names one, request keyword
    arguments). A POST without parameters creates the caller's own resource and is left to the tests above."""
    values = {"job_id": [holdings.waiting_job["id"], holdings.faces_job["id"]], "batch_id": [holdings.batch["id"]],
              "finding_id": [str(holdings.face_finding)], "action": list(ACTIONS), "person_id": [holdings.person_id],
              "frame_index": ["0"], "list_id": [holdings.hash_list_id], "bank_id": [holdings.term_bank_id],
              "version": [str(holdings.policy_version)]}
    # A valid body for each route that takes one, so that what answers is the lookup, not validation.
    bodies = {"/priority": {"priority": 3}, "/decisions": {"action": "approve", "policy_label": "none"},
              "/assignee": {"reviewer": None}, "/merge": {"other": holdings.person_id}}
    for template, operations in openapi["paths"].items():
        if template.startswith("/media/"):
            continue  # a media link is its own credential, of one job (tests/stack/gateway/test_review.py)
        for method, operation in operations.items():
            params = re.findall(r"{(\w+)}", template)
            if not params and method != "get":
                continue
            name_values = [team_a] if template.startswith("/v1/teams") else [holdings.key_name]
            choices = [values.get(p, name_values) for p in params]
            body = operation.get("requestBody", {}).get("content", {})
            kwargs: dict = {"json": next((b for end, b in bodies.items() if template.endswith(end)), {})} \
                if "application/json" in body else {}
            combos: list[dict[str, str]] = [{}]
            for param, options in zip(params, choices, strict=True):
                combos = [{**combo, param: option} for combo in combos for option in options]
            for combo in combos:
                yield method.upper(), template.format(**combo), bool(params), kwargs


def test_no_route_returns_another_teams_data(team_a: Team, team_b: Team, holdings: Holdings,
                                             running_stack: Settings) -> None:
    """The property, over the whole OpenAPI document (a route added later is tried too): with team B's admin key,
    a route naming one of team A's resources is a 404, and no answer holds any of A's ids."""
    openapi = team_b.client.get("/openapi.json").json()
    tried = 0
    for method, path, names_a_resource, kwargs in _requests(openapi, holdings, team_a.name):
        answer = team_b.client.request(method, path, **kwargs)
        tried += 1
        if names_a_resource:  # (its refusal echoes the id asked for, nothing more)
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        else:
            assert not any(secret in answer.text for secret in _ids(holdings) | {team_a.name}), (method, path)
    assert tried >= 20
    after = team_a.client.get(f"/v1/jobs/{holdings.waiting_job['id']}").json()
    assert (after["status"], after["priority"]) == ("pending", holdings.waiting_job["priority"])
    assert upload_file(running_stack, holdings.waiting_job["id"]).is_file()
    assert team_a.client.get("/v1/keys").json()[0]["revoked_at"] is None


def test_the_operator_acts_for_a_team_only_when_it_names_it(api: httpx.Client, team_a: Team, team_b: Team,
                                                            holdings: Holdings) -> None:
    job_id = holdings.faces_job["id"]
    assert api.get(f"/v1/jobs/{job_id}").status_code == 404, "the operator's own team does not hold it"
    assert api.get(f"/v1/jobs/{job_id}", headers={TEAM_HEADER: team_a.name}).json()["id"] == job_id
    assert job_id in {j["id"] for j in api.get("/v1/jobs", headers={TEAM_HEADER: team_a.name}).json()}
    unknown = api.get("/v1/jobs", headers={TEAM_HEADER: "no-such-team"})
    assert unknown.status_code == 404 and unknown.json()["detail"]["code"] == "team_not_found"
    # A team's own admin cannot reach across, even by naming the team.
    across = team_b.client.get(f"/v1/jobs/{job_id}", headers={TEAM_HEADER: team_a.name})
    assert across.status_code == 403 and across.json()["detail"]["code"] == "insufficient_scope"
    refused = team_b.client.post("/v1/teams", json={"name": "made-by-b"})
    assert refused.status_code == 403
    # The audit trail of A's job names A's key, and the operator's when it acted for A.
    api.put(f"/v1/jobs/{holdings.waiting_job['id']}/priority", json={"priority": 4},
            headers={TEAM_HEADER: team_a.name}).raise_for_status()
    actors = {e["actor"] for e in team_a.client.get(f"/v1/jobs/{holdings.waiting_job['id']}/events").json()}
    assert "moderation-a-admin" in actors and any(a.startswith("default/") for a in actors), actors
    api.put(f"/v1/jobs/{holdings.waiting_job['id']}/priority", json={"priority": 5},
            headers={TEAM_HEADER: team_a.name}).raise_for_status()
    holdings.waiting_job["priority"] = 5


def test_team_limits_are_429s_with_retry_after(running_stack: Settings, api: httpx.Client,
                                               sample_video: Path) -> None:
    team = _make_team(running_stack, api, "limited", max_queued_jobs=1, max_video_hours_per_day=0.005)
    stored_before = set(stored_uploads(running_stack))
    waiting = upload(team.client, sample_video, params={"start": "false"})
    assert waiting.status_code == 201, waiting.text
    full = upload(team.client, sample_video, params={"start": "false"})
    assert full.status_code == 429 and full.json()["detail"]["code"] == "team_queue_full", full.text
    assert int(full.headers["Retry-After"]) > 0
    assert team.client.post(f"/v1/jobs/{waiting.json()['id']}/cancel").status_code == 200
    # 12 s of the 18 s a day are used: another 12 s is over the quota.
    over = upload(team.client, sample_video, params={"start": "false"})
    assert over.status_code == 429 and over.json()["detail"]["code"] == "team_quota_exceeded", over.text
    assert 0 < int(over.headers["Retry-After"]) <= 86400
    assert set(stored_uploads(running_stack)) == stored_before, "a refused upload leaves nothing"
    raised = api.put("/v1/teams/limited/limits", json={"max_queued_jobs": 5})
    assert raised.json()["max_video_hours_per_day"] is None
    admitted = upload(team.client, sample_video, params={"start": "false"})
    assert admitted.status_code == 201
    team.client.post(f"/v1/jobs/{admitted.json()['id']}/cancel").raise_for_status()
    team.client.close()


def test_a_header_declaring_less_than_the_file_holds_does_not_beat_the_quota(
        running_stack: Settings, api: httpx.Client, tmp_path: Path) -> None:
    """20 s of video whose header says 1 s, against a quota of 18 s a day: once charged 1 s, and analysed whole."""
    team = _make_team(running_stack, api, "forged-duration", max_video_hours_per_day=0.005)
    refused = upload(team.client, hostile_corpus.forged_short_duration(tmp_path), params={"start": "false"})
    assert refused.status_code == 429 and refused.json()["detail"]["code"] == "team_quota_exceeded", refused.text
    assert "0.01 h more" in refused.json()["detail"]["message"]  # 20 s, not 1 s
    team.client.close()


def test_a_team_runs_at_most_its_limit_of_jobs_at_once(running_stack: Settings, api: httpx.Client,
                                                       sample_video: Path) -> None:
    team = _make_team(running_stack, api, "one-at-a-time", max_running_jobs=1)
    ids = [upload(team.client, sample_video, options='{"modules": ["nudity"]}').json()["id"] for _ in range(2)]
    jobs = [wait_for_job(team.client, job_id) for job_id in ids]
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"]
    first, second = sorted(jobs, key=lambda job: job["started_at"])
    assert datetime.fromisoformat(second["started_at"]) >= datetime.fromisoformat(first["finished_at"]), \
        "the second job started only once the first had ended"
    team.client.close()


def test_data_from_before_teams_moves_into_the_default_team(running_stack: Settings) -> None:
    """A database at migration 5 with a key, a batch and a job migrates into the default (operator) team."""
    name = f"migration_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = re.sub(r"/[^/?]+(\?|$)", rf"/{name}\1", running_stack.effective_database_url, count=1)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                         "applied_at timestamptz NOT NULL DEFAULT now())")
            for version, label, path in available_migrations():
                if version <= 5:
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, label))
            key, batch, job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            conn.execute("INSERT INTO api_keys (id, name, prefix, key_sha256, scopes) VALUES (%s, 'old', 'p', 'h', "
                         "'{submit}')", (key,))
            conn.execute("INSERT INTO batches (id, name, auto_start, priority) VALUES (%s, 'old', true, 5)", (batch,))
            conn.execute("INSERT INTO jobs (id, status, source_name, media_path, owns_media, options, api_key_id, "
                         "batch_id) VALUES (%s, 'succeeded', 'old.mp4', '/x', false, %s, %s, %s)",
                         (job, '{"modules": [], "min_scores": {"ocr": 5}}', key, batch))
        assert apply_migrations(url)[0] == 6
        with psycopg.connect(url) as conn:
            teams = {table: conn.execute(f"SELECT t.name, t.operator FROM {table} x JOIN teams t ON t.id = x.team_id")
                     .fetchall() for table in ("api_keys", "batches", "jobs")}
            options = conn.execute("SELECT options FROM jobs").fetchone()[0]
        assert teams == {table: [("default", True)] for table in teams}
        assert options == {"min_scores": {"ocr": 1.0}}, "options accepted before and refused now are brought in range"
    finally:
        with psycopg.connect(running_stack.effective_database_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_teams_and_keys_through_the_cli(running_stack: Settings) -> None:
    env = {"PATH": "/usr/bin:/bin", **running_stack.to_env(), "COLUMNS": "200"}
    cli = [sys.executable, "-m", "vidsafe.cli"]
    subprocess.run([*cli, "teams", "create", "cli-team", "--max-running", "2"], env=env, check=True,
                   capture_output=True)
    listed = subprocess.run([*cli, "teams", "list"], env=env, check=True, capture_output=True, text=True).stdout
    assert re.search(r"cli-team\s.*\s2\s", listed), listed
    secret = subprocess.run([*cli, "keys", "create", "cli-team-bot", "--scope", "submit", "--team", "cli-team"],
                            env=env, check=True, capture_output=True, text=True).stdout.strip()
    with httpx.Client(base_url=running_stack.gateway_url, headers={API_KEY_HEADER: secret}) as client:
        assert client.get("/v1/jobs").json() == []
    keys = subprocess.run([*cli, "keys", "list", "--team", "cli-team"], env=env, check=True, capture_output=True,
                          text=True).stdout
    assert "cli-team-bot" in keys and "local-cli" not in keys
