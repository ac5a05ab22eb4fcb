"""Known-content matching: PDQ as ThreatExchange computes it, the list formats, matches that survive a re-encode,
a rescale and a slight crop, a measured false-match rate on unrelated generated content, and through the stack:
a job matched against its team's lists (a finding that raises its risk), a newly imported list re-matched against
past jobs in the background, bad imports refused, and the lists kept within their team."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from tests.helpers.known_content import SETTINGS
from tests.helpers.support import make_team, run_job, wait_until
from vidsafe.hash_lists import parse_hash_list, vpdq_signal
from vidsafe.media.hashing import frame_hash, video_hashes
from vidsafe.settings import Settings

# ---- through the stack ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moderators(running_stack: Settings, api: httpx.Client) -> Iterator[httpx.Client]:
    keys = make_team(running_stack, api, "hash-matchers", {"lead": ["submit", "review", "lists"]})
    with keys.client("lead") as client:
        yield client


def _import(client: httpx.Client, name: str, content: str, list_format: str = "auto") -> dict:
    created = client.post("/v1/hash-lists", json={"name": name, "default_label": "known_video"})
    assert created.status_code == 201, created.text
    imported = client.post(f"/v1/hash-lists/{created.json()['id']}/imports", content=content.encode(),
                           params={"format": list_format}, headers={"Content-Type": "text/csv"})
    assert imported.status_code == 202, imported.text
    return imported.json()


def _suggested(client: httpx.Client, job_id: str) -> str:
    return client.get(f"/v1/jobs/{job_id}/summary").json()["summary"]["suggested_action"]


def _risk(client: httpx.Client, job_id: str) -> float:
    return client.get(f"/v1/jobs/{job_id}").json()["risk"]


def test_a_job_matches_its_teams_list_and_a_new_list_is_matched_against_past_jobs(
        moderators: httpx.Client, api: httpx.Client, sample_video: Path, altered: Path, unrelated: Path) -> None:
    listed = video_hashes(sample_video, SETTINGS)
    csv_rows = f"signal_type,signal,label\nvpdq,\"{vpdq_signal(listed).replace(chr(34), chr(34) * 2)}\",sample_clip\n"
    result = _import(moderators, "known-videos", csv_rows)
    assert (result["added"], result["skipped"]) == (1, {})
    job, findings = run_job(moderators, altered, module="known_content")
    [match] = findings
    assert (match["label"], match["attributes"]["list"], match["attributes"]["signal_type"]) == (
        "sample_clip", "known-videos", "vpdq")
    assert match["attributes"]["distance"] <= SETTINGS.pdq_match_distance and match["score"] >= 0.8
    assert _risk(moderators, job["id"]) >= 0.8
    assert any(r["module"] == "known_content" for r in moderators.get(f"/v1/jobs/{job['id']}").json()["risk_reasons"])
    thumbnail = moderators.get(f"/v1/jobs/{job['id']}/thumbnails/{match['frame_index']}")
    assert thumbnail.status_code == 200, "the matched frame's thumbnail was written while it was decoded"

    # A past job, then a list of one of its pictures: re-matched in the background, its risk raised.
    past, before = run_job(moderators, unrelated, module="known_content")
    assert not before and _risk(moderators, past["id"]) < 0.5
    rocket = frame_hash(_frame_of(unrelated, 1.0), 0.0).pdq.hex()
    second = _import(moderators, "known-pictures", f"pdq {rocket}\n", "lines")["list"]
    wait_until(lambda: moderators.get(f"/v1/hash-lists/{second['id']}").json()["rematch_state"] == "done",
               "re-matching the new list", timeout_s=60)
    done = moderators.get(f"/v1/hash-lists/{second['id']}").json()
    assert done["rematched_jobs"] >= 2 and done["matched_jobs"] >= 1, done
    rematched = moderators.get(f"/v1/jobs/{past['id']}/findings", params={"module": "known_content"}).json()
    assert rematched["findings"] and {f["label"] for f in rematched["findings"]} == {"known_video"}
    assert all(0.0 <= f["timestamp_s"] < 3.0 for f in rematched["findings"])
    assert _risk(moderators, past["id"]) >= 0.8
    assert _suggested(moderators, past["id"]) == "remove", "its summary is made again"

    # Removing the list takes its matches off the past job again.
    assert moderators.delete(f"/v1/hash-lists/{second['id']}").status_code == 204
    wait_until(lambda: not moderators.get(f"/v1/jobs/{past['id']}/findings",
                                          params={"module": "known_content"}).json()["findings"],
               "the removed list's matches leaving the job", timeout_s=60)
    wait_until(lambda: _risk(moderators, past["id"]) < 0.5 and _suggested(moderators, past["id"]) != "remove",
               "the risk and the summary made again", timeout_s=30)
    # Another team sees neither the lists nor their matches.
    assert api.get(f"/v1/hash-lists/{result['list']['id']}").status_code == 404
    assert all(found["name"] != "known-videos" for found in api.get("/v1/hash-lists").json())


def _frame_of(video: Path, at_s: float) -> np.ndarray:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at_s:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {at_s} s")


def test_bad_imports_are_refused_with_the_line_and_lose_nothing(moderators: httpx.Client) -> None:
    created = moderators.post("/v1/hash-lists", json={"name": "careful"}).json()
    url = f"/v1/hash-lists/{created['id']}/imports"
    for body, code in ((b"hash,label\nnot-a-hash,x\n", "line 2"), (b"\xff\xfe\x00", "UTF-8"), (b"", "no hashes")):
        refused = moderators.post(url, content=body, headers={"Content-Type": "text/csv"})
        assert refused.status_code == 422 and refused.json()["detail"]["code"] == "invalid_hash_list", refused.text
        assert code in refused.json()["detail"]["message"]
    assert moderators.get(f"/v1/hash-lists/{created['id']}").json()["entries"] == 0
    assert moderators.post("/v1/hash-lists", json={"name": "careful"}).json()["detail"]["code"] == \
        "hash_list_name_taken"
    assert moderators.post(f"/v1/hash-lists/{uuid.uuid4()}/imports", content=b"x").json()["detail"]["code"] == \
        "hash_list_not_found"


def test_a_video_hashed_and_imported_through_the_cli_matches_its_copy(
        running_stack: Settings, moderators: httpx.Client, sample_video: Path, altered: Path, tmp_path: Path) -> None:
    """`vidsafe hash-lists video --label` writes a CSV row that `vidsafe hash-lists import` reads (the operator's key
    acting for the team); the team's next job of a copy matches it."""
    env = {"PATH": "/usr/bin:/bin", **running_stack.to_env(), "COLUMNS": "200", "VIDSAFE_TEAM": "hash-matchers"}
    cli = [sys.executable, "-m", "vidsafe.cli", "hash-lists"]
    row = subprocess.run([*cli, "video", str(sample_video), "--label", "cli_clip"], env=env, check=True,
                         capture_output=True, text=True).stdout
    [entry] = parse_hash_list(row, "known").entries
    assert (entry.signal_type, entry.label, len(entry.frames)) == ("vpdq", "cli_clip", 12)
    (tmp_path / "row.csv").write_text(row)
    imported = subprocess.run([*cli, "import", "cli-videos", str(tmp_path / "row.csv")], env=env, check=True,
                              capture_output=True, text=True)
    assert "1 added" in imported.stderr, imported.stderr
    listed = subprocess.run([*cli, "list"], env=env, check=True, capture_output=True, text=True).stdout
    assert re.search(r"cli-videos\W+1\W", listed), listed
    _, findings = run_job(moderators, altered, module="known_content")
    assert ("cli_clip", "cli-videos") in [(f["label"], f["attributes"]["list"]) for f in findings]
    subprocess.run([*cli, "delete", "cli-videos"], env=env, check=True, capture_output=True)
    assert "cli-videos" not in subprocess.run([*cli, "list"], env=env, check=True, capture_output=True,
                                              text=True).stdout
