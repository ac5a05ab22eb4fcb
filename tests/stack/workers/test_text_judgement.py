"""The text module through the stack: what a video shows written and says is judged by the policy's text
categories and the team's term banks; each judgement a finding of its category with the reading it came from, the
matched span and every signal that spoke, and the job's risk and summary follow from it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers.support import make_team, run_job
from vidsafe.export.sample_video import Scene, Speech, make_sample_video
from vidsafe.settings import Settings

THREAT = "I know where you live and I am going to kill you."


@pytest.fixture(scope="module")
def spoken_threat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenes = (Scene("astronaut", 0.0, 3.0, caption="you absolute 1d10t"), Scene("chelsea", 3.0, 6.0))
    return make_sample_video(tmp_path_factory.mktemp("threat") / "threat.mp4", scenes=scenes,
                             speech=(Speech(THREAT, start_s=3.2),))


def test_the_samples_caption_is_judged_a_scam(running_stack: Settings, api: httpx.Client,
                                              sample_video: Path) -> None:
    team = make_team(running_stack, api, "text-judges", {"lead": ["submit", "review"]})
    with team.client("lead") as lead:
        job, findings = run_job(lead, sample_video, module="text")
        scams = [f for f in findings if f["label"] == "scams"]
        assert scams, findings
        first = scams[0]
        assert first["attributes"]["reading"]["text"] == "FREE GIFT CARDS INSIDE" and first["timestamp_s"] < 3.0
        assert first["attributes"]["signal"] == "semantic"
        assert first["attributes"]["reading"]["module"] == "ocr"
        assert first["attributes"]["matched"] == "claim your free gift card now", "its nearest example"
        reading = lead.get(f"/v1/jobs/{job['id']}/findings", params={"module": "ocr"}).json()["findings"]
        assert first["attributes"]["reading"]["finding_id"] in {f["id"] for f in reading}
        assert not [f for f in findings if "check this video" in f["attributes"]["reading"]["text"]], "harmless"
        assert any(reason["module"] == "text" and reason["label"] == "scams" for reason in job["risk_reasons"])


def test_a_threat_said_and_an_insult_written_through_evasion_are_judged(
        running_stack: Settings, api: httpx.Client, spoken_threat: Path) -> None:
    team = make_team(running_stack, api, "text-banks", {"lead": ["submit", "review", "lists"]})
    with team.client("lead") as lead:
        bank = lead.post("/v1/term-banks", json={"name": "insults", "category": "harassment"}).json()
        imported = lead.post(f"/v1/term-banks/{bank['id']}/imports", content=b"idiot\n",
                             headers={"Content-Type": "text/plain"})
        assert imported.status_code == 200, imported.text
        job, findings = run_job(lead, spoken_threat, module="text")
        heard = lead.get(f"/v1/jobs/{job['id']}/findings", params={"module": "speech"}).json()["findings"]
    threats = [f for f in findings if f["label"] == "threats"]
    assert threats and threats[0]["attributes"]["reading"]["module"] == "speech", [h["text"] for h in heard]
    assert threats[0]["timestamp_s"] >= 2.5 and threats[0]["end_s"] is not None, "the time of the sentence"
    insults = [f for f in findings if f["label"] == "harassment" and f["attributes"]["signal"] == "term"]
    assert insults, findings
    insult = insults[0]
    start, end = insult["attributes"]["span"]
    assert insult["attributes"]["reading"]["text"][start:end].lower() == "1d10t"
    assert insult["attributes"]["matched"] == "idiot"
    assert insult["score"] == 1.0 and insult["attributes"]["evidence"][0]["bank_id"] == bank["id"]
    assert job["risk"] >= 0.5
