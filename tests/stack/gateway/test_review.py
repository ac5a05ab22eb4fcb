"""The review workflow through the gateway, on the real stack: media kept and streamed with ranges, thumbnails,
risk, the queue's leases (two reviewers claiming at once), decisions on record, search, people, cursor paging,
and none of it visible to another team."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import psycopg
import pytest
from PIL import Image
from skimage import data

from tests.helpers.support import TeamKeys, expire_kept_media, finding, make_team, upload, upload_file, wait_for_job
from vidsafe.catalogue import Module
from vidsafe.db import findings, jobs
from vidsafe.domain.api import NEXT_CURSOR_HEADER
from vidsafe.media import links
from vidsafe.queue import make_celery
from vidsafe.settings import Settings
from vidsafe.workers import maintenance
from vidsafe.workers.rules import refresh_risk

RETENTION_S = 3600.0


@dataclass
class ReviewTeam:
    keys: TeamKeys
    jobs: list[dict]
    lead: httpx.Client
    alice: httpx.Client
    bob: httpx.Client


@pytest.fixture(scope="module")
def team(running_stack: Settings, api: httpx.Client, sample_video: Path) -> Iterator[ReviewTeam]:
    keys = make_team(running_stack, api, "reviewers", {"lead": ["admin"], "alice": ["review"], "bob": ["review"]},
                     media_retention_s=RETENTION_S)
    with keys.client("lead") as lead, keys.client("alice") as alice, keys.client("bob") as bob:
        created = [upload(lead, sample_video, name=f"clip-{n}.mp4") for n in range(3)]
        assert all(c.status_code == 201 for c in created), [c.text for c in created]
        jobs = [wait_for_job(lead, c.json()["id"]) for c in created]
        assert all(job["status"] == "succeeded" for job in jobs), jobs
        yield ReviewTeam(keys, jobs, lead, alice, bob)
    expire_kept_media(running_stack, keys.name)  # the later tests find the uploads folder as they left it


@pytest.fixture(scope="module")
def outsider(running_stack: Settings, api: httpx.Client) -> Iterator[httpx.Client]:
    keys = make_team(running_stack, api, "outsiders", {"eve": ["admin"]})
    with keys.client("eve") as client:
        yield client


def _sql(settings: Settings, statement: str, params: tuple = ()) -> None:
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        conn.execute(statement, params)


def test_a_video_is_kept_for_its_teams_retention_streamed_with_ranges_then_swept(
        team: ReviewTeam, running_stack: Settings, sample_video: Path) -> None:
    job = team.jobs[0]
    assert job["media_kept_until"] is not None
    whole = team.alice.get(f"/v1/jobs/{job['id']}/media")
    assert whole.status_code == 200 and whole.content == sample_video.read_bytes()
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    part = team.alice.get(f"/v1/jobs/{job['id']}/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == sample_video.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{sample_video.stat().st_size}"
    # A range refused comes in the documented error shape (once Starlette's plain text).
    size = sample_video.stat().st_size
    for asked, status, code in ((f"bytes={size + 10}-", 416, "range_not_satisfiable"),
                                ("pages=1-2", 400, "invalid_range"), ("bytes=200-100", 400, "invalid_range")):
        refused = team.alice.get(f"/v1/jobs/{job['id']}/media", headers={"Range": asked})
        assert (refused.status_code, refused.json()["detail"]["code"]) == (status, code), (asked, refused.text)
    assert refused.headers["content-type"] == "application/json"
    assert team.alice.get(f"/v1/jobs/{job['id']}/media", headers={"Range": f"bytes={size + 10}-"}).headers[
        "content-range"] == f"bytes */{size}"

    # The retention passes: the sweep removes the video (its file as old as the retention), and the API says so.
    doomed = team.jobs[2]
    _sql(running_stack, "UPDATE jobs SET media_kept_until = now() - interval '1 second' WHERE id = %s",
         (doomed["id"],))
    path = upload_file(running_stack, doomed["id"])
    old = time.time() - RETENTION_S - 60
    os.utime(path, (old, old))
    # The stack's own maintenance loop may sweep it first, between the file's ageing and this round.
    maintenance.run_once(running_stack, make_celery(running_stack))
    assert not path.exists()
    gone = team.alice.get(f"/v1/jobs/{doomed['id']}/media")
    assert gone.status_code == 404 and gone.json()["detail"]["code"] == "media_gone"
    assert upload_file(running_stack, job["id"]).exists(), "a video within its retention stays"


def test_a_browser_streams_the_video_by_a_signed_link_that_opens_that_video_only_until_it_ends(
        team: ReviewTeam, running_stack: Settings, sample_video: Path, outsider: httpx.Client) -> None:
    job = team.jobs[1]
    made = team.alice.post(f"/v1/jobs/{job['id']}/media-link")
    assert made.status_code == 200, made.text
    path = made.json()["path"]
    assert outsider.post(f"/v1/jobs/{job['id']}/media-link").status_code == 404, "another team's job is not there"
    with httpx.Client(base_url=running_stack.gateway_url) as browser:  # no key at all
        part = browser.get(path, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == sample_video.read_bytes()[10:20], part.text
        assert part.headers["content-type"] == "video/mp4"
        token = path.rsplit("/", 1)[1]
        other_job = team.jobs[0]["id"].replace("-", "")
        altered = token.replace(token.split(".")[0], other_job)  # the same signature on another job
        secret = running_stack.effective_media_link_secret
        with psycopg.connect(running_stack.effective_database_url) as conn:
            team_id = conn.execute("SELECT team_id FROM jobs WHERE id = %s", (job["id"],)).fetchone()[0]
        expired, _ = links.issue(uuid.UUID(job["id"]), team_id, -5, secret)
        for token_sent, code in ((altered, "media_link_invalid"), ("nonsense", "media_link_invalid"),
                                 (expired, "media_link_expired")):
            refused = browser.get(f"/media/{token_sent}")
            assert (refused.status_code, refused.json()["detail"]["code"]) == (403, code), refused.text


def test_a_team_without_retention_keeps_no_video(api: httpx.Client, sample_video: Path,
                                                 running_stack: Settings) -> None:
    job = wait_for_job(api, upload(api, sample_video).json()["id"])
    assert job["status"] == "succeeded" and job["media_kept_until"] is None
    refused = api.get(f"/v1/jobs/{job['id']}/media")
    assert refused.status_code == 404 and refused.json()["detail"]["code"] == "media_gone"
    assert not upload_file(running_stack, job["id"]).exists()


def test_every_frame_with_findings_has_a_small_thumbnail(team: ReviewTeam, running_stack: Settings) -> None:
    job = team.jobs[0]
    found = team.alice.get(f"/v1/jobs/{job['id']}/findings").json()["findings"]
    frames = {f["frame_index"] for f in found if f["frame_index"] is not None and f["label"] != "frame"}
    assert frames
    for index in sorted(frames):
        answer = team.alice.get(f"/v1/jobs/{job['id']}/thumbnails/{index}")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
        assert max(image.shape[:2]) <= running_stack.thumbnail_max_side
    missing = team.alice.get(f"/v1/jobs/{job['id']}/thumbnails/99999")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "thumbnail_not_found"


def test_the_risk_is_the_documented_function_of_the_segments(api: httpx.Client, running_stack: Settings,
                                                             sample_video: Path) -> None:
    """A hand-computed case through the stack: the sample's one category with a severity is its caption, judged a
    scam (contribution c); with two more segments, exposed breasts (max score 0.8, severity 0.9) and restraint (max
    0.6, severity 0.9), the rules part's refresh makes the job's risk 1 - (1 - 0.72)(1 - 0.54)(1 - c), their
    reasons in that order. (A team of its own: the review team's queue order is the other tests'.)"""
    severities = running_stack.risk_severities
    assert (severities["nudity:FEMALE_BREAST_EXPOSED"], severities["restraint"]) == (0.9, 0.9)
    keys = make_team(running_stack, api, "risk-raters", {"rater": ["review", "submit"]})
    with keys.client("rater") as rater:
        job = wait_for_job(rater, upload(rater, sample_video).json()["id"])
        [caption] = job["risk_reasons"]
        assert (caption["module"], caption["category"], caption["severity"]) == ("text", "scams", 0.7)
        assert job["risk"] == caption["contribution"] == pytest.approx(0.7 * caption["score"], abs=1e-4)
        added = [finding(Module.nudity, "FEMALE_BREAST_EXPOSED", 1.0, 0.6, box=(0.0, 0.0, 9.0, 9.0)),
                 finding(Module.nudity, "FEMALE_BREAST_EXPOSED", 1.5, 0.8, box=(0.0, 0.0, 9.0, 9.0)),
                 finding(Module.restraint, "restraint", 4.0, 0.5), finding(Module.restraint, "restraint", 4.5, 0.6)]
        with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
            findings.add_findings(conn, job["id"], added)
            refresh_risk(conn, job["id"], jobs.job_team(conn, job["id"]), running_stack.sample_fps, running_stack)
        rated = rater.get(f"/v1/jobs/{job['id']}").json()
        expected = 1 - (1 - 0.72) * (1 - 0.54) * (1 - caption["contribution"])
        assert rated["risk"] == pytest.approx(expected, abs=1e-4)
        assert [(r["module"], r["label"], r["contribution"]) for r in rated["risk_reasons"]] == [
            ("nudity", "FEMALE_BREAST_EXPOSED", 0.72), ("restraint", "restraint", 0.54),
            ("text", "scams", caption["contribution"])]
        (item,) = rater.get("/v1/reviews").json()
        assert item["job_id"] == job["id"] and item["risk"] == pytest.approx(expected, abs=1e-4)


def test_the_queue_is_riskiest_first(team: ReviewTeam) -> None:
    queue = team.alice.get("/v1/reviews").json()
    assert [item["risk"] for item in queue] == sorted((item["risk"] for item in queue), reverse=True)
    assert {item["job_id"] for item in queue} == {j["id"] for j in team.jobs}


def test_two_reviewers_claiming_at_once_never_hold_the_same_item(team: ReviewTeam, running_stack: Settings) -> None:
    for _ in range(5):
        barrier = threading.Barrier(2)
        claimed: dict[str, str] = {}

        def claim(name: str, client: httpx.Client, barrier: threading.Barrier = barrier,
                  claimed: dict[str, str] = claimed) -> None:
            barrier.wait()
            answer = client.post("/v1/reviews/claim", json={})
            assert answer.status_code == 200, answer.text
            claimed[name] = answer.json()["job_id"]

        reviewers = (("alice", team.alice), ("bob", team.bob))
        threads = [threading.Thread(target=claim, args=reviewer) for reviewer in reviewers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert claimed["alice"] != claimed["bob"], claimed
        # A reviewer's next claim is the item they already hold; releasing gives it back.
        assert team.alice.post("/v1/reviews/claim", json={}).json()["job_id"] == claimed["alice"]
        for name, client in (("alice", team.alice), ("bob", team.bob)):
            assert client.post(f"/v1/reviews/{claimed[name]}/release").status_code == 200

    held = team.alice.post("/v1/reviews/claim", json={}).json()
    assert held["claimed_by"] == "alice" and team.alice.post(f"/v1/reviews/{held['job_id']}/renew").status_code == 200
    refused = team.bob.post(f"/v1/reviews/{held['job_id']}/renew")
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "not_claimed"
    # The lease runs out: the item is free for bob.
    _sql(running_stack, "UPDATE review_items SET lease_until = now() - interval '1 second' WHERE job_id = %s",
         (held["job_id"],))
    taken = team.bob.post("/v1/reviews/claim", json={}).json()
    assert taken["job_id"] == held["job_id"] and taken["claimed_by"] == "bob"
    team.bob.post(f"/v1/reviews/{taken['job_id']}/skip").raise_for_status()
    assert team.bob.post("/v1/reviews/claim", json={}).json()["job_id"] != taken["job_id"], "skipped: not offered"
    team.bob.post(f"/v1/reviews/{team.bob.post('/v1/reviews/claim', json={}).json()['job_id']}/release")

    # A lead assigns an item to bob: only bob may claim it.
    refused = team.alice.put(f"/v1/reviews/{taken['job_id']}/assignee", json={"reviewer": "bob"})
    assert refused.status_code == 403
    assigned = team.lead.put(f"/v1/reviews/{taken['job_id']}/assignee", json={"reviewer": "bob"})
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == "bob"
    alice_items = set()
    for _ in range(3):
        answer = team.alice.post("/v1/reviews/claim", json={})
        if answer.status_code == 204:
            break
        alice_items.add(answer.json()["job_id"])
        team.alice.post(f"/v1/reviews/{answer.json()['job_id']}/skip")
    assert taken["job_id"] not in alice_items
    unknown = team.lead.put(f"/v1/reviews/{taken['job_id']}/assignee", json={"reviewer": "nobody"})
    assert unknown.status_code == 404 and unknown.json()["detail"]["code"] == "reviewer_not_found"
    team.lead.put(f"/v1/reviews/{taken['job_id']}/assignee", json={"reviewer": None}).raise_for_status()


def test_decisions_are_on_record_in_the_audit_trail_and_exported(team: ReviewTeam, running_stack: Settings) -> None:
    job_id = team.jobs[0]["id"]
    team.lead.put(f"/v1/reviews/{job_id}/assignee", json={"reviewer": "alice"}).raise_for_status()
    while (claimed := team.alice.post("/v1/reviews/claim", json={})).json()["job_id"] != job_id:
        team.alice.post(f"/v1/reviews/{claimed.json()['job_id']}/release")
    held = team.bob.post(f"/v1/jobs/{job_id}/decisions", json={"action": "approve", "policy_label": "none"})
    assert held.status_code == 409 and held.json()["detail"]["code"] == "claim_held"
    bad = team.alice.post(f"/v1/jobs/{job_id}/decisions", json={"action": "reject", "policy_label": "x",
                                                                 "start_s": 5, "end_s": 2})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "invalid_request"
    decided = team.alice.post(f"/v1/jobs/{job_id}/decisions", json={
        "action": "escalate", "policy_label": "adult_nudity", "note": "second look", "start_s": 3.0, "end_s": 5.5})
    assert decided.status_code == 201 and decided.json()["actor"] == "alice"
    escalations = team.bob.get("/v1/reviews", params={"queue": "escalation"}).json()
    assert [item["job_id"] for item in escalations] == [job_id]
    own = team.alice.post(f"/v1/jobs/{job_id}/decisions", json={"action": "approve", "policy_label": "none"})
    assert (own.status_code, own.json()["detail"]["code"]) == (409, "escalated_by_you"), "another reviewer decides"
    assert team.alice.post("/v1/reviews/claim", json={"queue": "escalation"}).status_code == 204
    for unreasoned in ({"policy_label": "none", "note": "spam"}, {"policy_label": "adult_nudity", "note": " "}):
        refused = team.bob.post(f"/v1/jobs/{job_id}/decisions", json={"action": "reject", **unreasoned})
        assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "reason_required"), unreasoned
    final = team.bob.post(f"/v1/jobs/{job_id}/decisions", json={"action": "reject", "policy_label": "adult_nudity",
                                                                "note": "exposed"})
    assert final.status_code == 201
    assert team.bob.get(f"/v1/reviews/{job_id}").json()["state"] == "decided"

    trail = [e for e in team.alice.get(f"/v1/jobs/{job_id}/events").json() if e["kind"] == "decision"]
    assert [(e["actor"], e["reason"]) for e in trail] == [
        ("alice", "escalate (adult_nudity) at 3.0-5.5 s: second look"), ("bob", "reject (adult_nudity): exposed")]
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE decisions SET action = 'approve' WHERE job_id = %s", (job_id,))

    first = team.alice.get("/v1/decisions", params={"limit": 1})
    second = team.alice.get("/v1/decisions", params={"limit": 1, "cursor": first.headers[NEXT_CURSOR_HEADER]})
    assert [d["actor"] for d in first.json() + second.json()] == ["bob", "alice"]
    csv_page = team.alice.get("/v1/decisions", params={"format": "csv"})
    lines = csv_page.text.strip().splitlines()
    assert csv_page.headers["content-type"].startswith("text/csv")
    assert lines[0].startswith("id,job_id,action") and len(lines) == 3 and ",reject," in lines[1]
    assert lines[0].endswith(",source_name,risk,review_state") and lines[1].endswith(",decided"), lines


def test_a_segment_decision_keeps_the_video_open_until_every_flagged_segment_is_decided(
        team: ReviewTeam, running_stack: Settings) -> None:
    job_id = team.jobs[2]["id"]
    # Two more stretches the policy flags (exposed skin, violence), and a shot change it does not.
    _sql(running_stack, "INSERT INTO segments (job_id, module, label, start_s, end_s, max_score, mean_score, count) "
         "VALUES (%s, 'nudity', 'FEMALE_BREAST_EXPOSED', 6.0, 7.5, 0.9, 0.8, 3), "
         "(%s, 'clip', 'violence', 9.0, 10.0, 0.5, 0.5, 2), (%s, 'shots', 'cut', 0.0, 3.0, 1.0, 1.0, 1)",
         (job_id, job_id, job_id))
    flagged = team.alice.get(f"/v1/reviews/{job_id}/segments").json()
    assert flagged[0]["label"] == "FEMALE_BREAST_EXPOSED", "what drives the risk comes first"
    assert {s["module"] for s in flagged} >= {"nudity", "clip"} and "shots" not in {s["module"] for s in flagged}
    assert all(s["decisions"] == [] for s in flagged)
    team.lead.put(f"/v1/reviews/{job_id}/assignee", json={"reviewer": "alice"}).raise_for_status()
    for _ in range(len(team.jobs)):
        claimed = team.alice.post("/v1/reviews/claim", json={}).json()["job_id"]
        if claimed == job_id:
            break
        team.alice.post(f"/v1/reviews/{claimed}/skip")
    for segment in flagged[:-1]:
        decided = team.alice.post(f"/v1/jobs/{job_id}/decisions", json={
            "action": "approve", "policy_label": "none", "start_s": segment["start_s"], "end_s": segment["end_s"]})
        assert decided.status_code == 201, decided.text
        item = team.alice.get(f"/v1/reviews/{job_id}").json()
        assert (item["state"], item["claimed_by"]) == ("open", "alice"), "still hers, the rest to decide"
    last = flagged[-1]
    team.alice.post(f"/v1/jobs/{job_id}/decisions", json={
        "action": "reject", "policy_label": "scams", "note": "gift-card scam", "start_s": last["start_s"],
        "end_s": last["end_s"]}).raise_for_status()
    assert team.alice.get(f"/v1/reviews/{job_id}").json()["state"] == "decided"
    decided = team.alice.get(f"/v1/reviews/{job_id}/segments").json()
    assert all([d["actor"] for d in s["decisions"]] == ["alice"] for s in decided)


def test_search_finds_the_spoken_sentence_and_the_caption_by_words_and_by_meaning(team: ReviewTeam,
                                                                                  outsider: httpx.Client) -> None:
    def hits(client: httpx.Client, q: str, mode: str = "both") -> list[dict]:
        answer = client.get("/v1/search", params={"q": q, "mode": mode})
        assert answer.status_code == 200, answer.text
        assert answer.json()["warnings"] == []
        return answer.json()["hits"]

    spoken = hits(team.alice, "check this video", "words")
    assert spoken and spoken[0]["module"] == "speech" and "published" in spoken[0]["text"]
    assert {h["job_id"] for h in spoken} == {j["id"] for j in team.jobs}, "one hit per video"
    caption = hits(team.alice, "gift cards", "words")
    assert caption and caption[0]["module"] == "ocr" and caption[0]["timestamp_s"] < 3.0
    meaning = hits(team.alice, "verify the clip before release", "meaning")
    assert meaning and meaning[0]["module"] == "speech"
    fused = hits(team.alice, "check this video before it is published")
    assert fused[0]["matched_by"] == ["words", "meaning"]
    assert hits(outsider, "check this video") == [], "another team's transcripts are not searched"
    invalid = team.alice.get("/v1/search", params={"q": "x", "cursor": "not-a-cursor"})
    assert invalid.status_code == 422 and invalid.json()["detail"]["code"] == "invalid_cursor"


def test_faces_across_videos_are_one_person_that_can_be_named_split_merged_hidden(team: ReviewTeam) -> None:
    people = team.alice.get("/v1/people").json()
    astronaut = max(people, key=lambda p: p["faces"])
    assert astronaut["jobs"] == len(team.jobs), people
    seen_in = {hit["job_id"] for hit in team.alice.get(f"/v1/people/{astronaut['id']}/appearances").json()}
    assert seen_in == {j["id"] for j in team.jobs}
    every = team.alice.get(f"/v1/people/{astronaut['id']}/appearances", params={"every_face": True}).json()
    assert len(every) == astronaut["faces"] and {hit["job_id"] for hit in every} == seen_in, "what a merge moves"
    named = team.alice.patch(f"/v1/people/{astronaut['id']}", json={"name": "Eileen"})
    assert named.status_code == 200 and named.json()["name"] == "Eileen"

    faces = [f["id"] for f in team.alice.get(f"/v1/jobs/{team.jobs[1]['id']}/findings",
                                             params={"module": "faces"}).json()["findings"]]
    split = team.alice.post("/v1/people/split", json={"finding_ids": faces})
    assert split.status_code == 201 and split.json()["jobs"] == 1
    assert team.alice.get(f"/v1/people/{astronaut['id']}").json()["jobs"] == len(team.jobs) - 1
    merged = team.alice.post(f"/v1/people/{astronaut['id']}/merge", json={"other": split.json()["id"]})
    assert merged.status_code == 200 and merged.json()["jobs"] == len(team.jobs)
    assert team.alice.get(f"/v1/people/{split.json()['id']}").status_code == 404

    team.alice.patch(f"/v1/people/{astronaut['id']}", json={"hidden": True}).raise_for_status()
    assert astronaut["id"] not in {p["id"] for p in team.alice.get("/v1/people").json()}
    assert astronaut["id"] in {p["id"] for p in team.alice.get("/v1/people", params={"hidden": True}).json()}
    team.alice.patch(f"/v1/people/{astronaut['id']}", json={"hidden": False}).raise_for_status()


def test_lists_are_cursor_paged(team: ReviewTeam) -> None:
    job_id = team.jobs[0]["id"]
    everything = team.alice.get(f"/v1/jobs/{job_id}/findings").json()
    assert everything["next_cursor"] is None
    paged, cursor = [], None
    while True:
        page = team.alice.get(f"/v1/jobs/{job_id}/findings", params={"limit": 7, **({"cursor": cursor} if cursor
                                                                                     else {})}).json()
        paged += page["findings"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert [f["id"] for f in paged] == [f["id"] for f in everything["findings"]]

    jobs, cursor = [], None
    while True:
        answer = team.lead.get("/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        jobs += [j["id"] for j in answer.json()]
        if (cursor := answer.headers.get(NEXT_CURSOR_HEADER)) is None:
            break
        assert answer.headers["link"].endswith('rel="next"')
    assert jobs == [j["id"] for j in sorted(team.jobs, key=lambda j: j["created_at"], reverse=True)]
    # A cursor of one list is refused by another.
    jobs_cursor = team.lead.get("/v1/jobs", params={"limit": 1}).headers[NEXT_CURSOR_HEADER]
    other = team.alice.get("/v1/decisions", params={"cursor": jobs_cursor})
    assert other.status_code == 422 and other.json()["detail"]["code"] == "invalid_cursor"


def test_another_team_sees_none_of_it(team: ReviewTeam, outsider: httpx.Client) -> None:
    job_id = team.jobs[0]["id"]
    person = team.alice.get("/v1/people").json()[0]["id"]
    for path, code in [(f"/v1/jobs/{job_id}/media", "job_not_found"),
                       (f"/v1/jobs/{job_id}/thumbnails/0", "job_not_found"),
                       (f"/v1/reviews/{job_id}", "review_not_found"),
                       (f"/v1/jobs/{job_id}/decisions", "job_not_found"),
                       (f"/v1/people/{person}", "person_not_found")]:
        answer = outsider.get(path)
        assert answer.status_code == 404 and answer.json()["detail"]["code"] == code, (path, answer.text)
    assert outsider.get("/v1/reviews").json() == [] and outsider.get("/v1/decisions").json() == []
    assert outsider.post("/v1/reviews/claim", json={}).status_code == 204
    decided = outsider.post(f"/v1/jobs/{job_id}/decisions", json={"action": "approve", "policy_label": "none"})
    assert decided.status_code == 404


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_face_is_found_in_the_other_videos_however_often_its_own_video_shows_it(team: ReviewTeam) -> None:
    """The nearest 20 faces were once all of the video itself (its faces in every frame), filtered out after the
    search, and "Find in other videos" found none."""
    own = team.jobs[0]["id"]
    face = team.alice.get(f"/v1/jobs/{own}/findings", params={"module": "faces"}).json()["findings"][0]
    others = team.alice.get(f"/v1/findings/{face['id']}/similar-faces",
                            params={"limit": 2, "other_videos": True}).json()
    assert len(others) == 2 and own not in {hit["job_id"] for hit in others}, others


def test_faces_are_found_by_an_uploaded_photo(team: ReviewTeam, outsider: httpx.Client) -> None:
    def search(client: httpx.Client, photo: bytes) -> httpx.Response:
        return client.post("/v1/search/faces", files={"photo": ("photo.png", photo, "image/png")})

    astronaut = _png(Image.fromarray(data.astronaut()))
    found = search(team.alice, astronaut)
    assert found.status_code == 200, found.text
    assert {hit["job_id"] for hit in found.json()} == {j["id"] for j in team.jobs}
    assert all(hit["finding"]["module"] == "faces" and hit["cosine_distance"] < 0.6 for hit in found.json())
    assert search(outsider, astronaut).json() == [], "another team's faces are not searched"
    for photo, status, code in [(b"not an image at all", 415, "not_an_image"),
                                (_png(Image.fromarray(data.coffee())), 422, "no_face_found"),
                                (_png(Image.new("1", (5000, 5000))), 422, "frame_too_large")]:
        refused = search(team.alice, photo)
        assert refused.status_code == status and refused.json()["detail"]["code"] == code, refused.text


def test_exposure_is_counted_per_reviewer_and_past_the_limit_the_queue_offers_milder_videos(
        team: ReviewTeam, running_stack: Settings) -> None:
    assert team.bob.get("/v1/me").json()["exposure"] == {"today_s": 0.0, "soft_limit_s": None}
    assert team.bob.post("/v1/me/exposure", json={"seconds": 30}).json()["today_s"] == 30
    assert team.bob.post("/v1/me/exposure", json={"seconds": 12.5}).json()["today_s"] == 42.5
    for wrong in (-1, 3601, "a lot"):
        refused = team.bob.post("/v1/me/exposure", json={"seconds": wrong})
        assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "invalid_request"), wrong
    assert team.lead.get("/v1/stats").json()["exposure_today_s"] == {"bob": 42.5}, "the lead sees it"
    # The lead sets the limit and the team's protection defaults; a reviewer's own preferences win over them.
    assert team.bob.put(f"/v1/teams/{team.keys.name}/review-settings", json={}).status_code == 403
    defaults = {"blur_sensitive": True, "grayscale": True, "muted": True, "open_next": False}
    settings = team.lead.put(f"/v1/teams/{team.keys.name}/review-settings",
                             json={"defaults": defaults, "exposure_soft_limit_s": 40})
    assert settings.status_code == 200, settings.text
    assert team.bob.get("/v1/me").json()["exposure"] == {"today_s": 42.5, "soft_limit_s": 40.0}
    assert team.bob.get("/v1/me").json()["preferences"] == defaults
    own = {**defaults, "grayscale": False}
    assert team.alice.put("/v1/me/preferences", json=own).status_code == 200
    assert team.alice.get("/v1/me").json()["preferences"] == own
    # Two open videos, one mild and one severe: past the limit bob is offered the mild one, alice the severe one.
    mild, severe = team.jobs[1]["id"], team.jobs[0]["id"]
    for job_id, risk in ((mild, 0.2), (severe, 0.9)):
        _sql(running_stack, "UPDATE review_items SET state = 'open', queue = 'review', risk = %s, "
             "claimed_by_key = NULL, lease_until = NULL, assigned_to_key = NULL, skipped_by_keys = '{}' "
             "WHERE job_id = %s", (risk, job_id))
    assert team.bob.post("/v1/reviews/claim", json={}).json()["job_id"] == mild
    assert team.alice.post("/v1/reviews/claim", json={}).json()["job_id"] == severe
    for client, job_id in ((team.bob, mild), (team.alice, severe)):
        client.post(f"/v1/reviews/{job_id}/release").raise_for_status()
