"""The review UI's page logic without a browser: the timeline's series and click, the thumbnails' boxes and
blurring, and the app's sign-in run by Streamlit's AppTest against the real gateway."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers.support import make_team, upload, wait_for_job
from vidsafe.client import GatewayClient
from vidsafe.settings import Settings
from vidsafe.ui import APP_PATH, session
from vidsafe.ui.markdown import plain


@pytest.fixture
def app_for(running_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app, run by AppTest in this process, talking to the test stack's gateway."""
    monkeypatch.setattr(session, "gateway_url", lambda: running_stack.gateway_url)
    return AppTest.from_file(str(APP_PATH), default_timeout=60)


def test_signing_in_checks_the_key_with_the_gateway(app_for: AppTest, api_key: str) -> None:
    app = app_for.run()
    assert not app.exception
    app.text_input(key="sign_in_key").input("vs_not-a-key")
    app.button[0].click().run()
    assert any("refused this key" in e.value for e in app.error), [e.value for e in app.error]
    app.text_input(key="sign_in_key").input(api_key)
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Review queue"]
    assert app.button(key="claim_next").label == "Claim next"
    assert "api_key" in app.session_state, "the key lives in the session"


def test_the_review_page_seeks_to_a_transcript_line_and_records_a_decision(
        app_for: AppTest, api: httpx.Client, sample_video: Path, running_stack: Settings) -> None:
    """Claim next opens the review page of the riskiest video; a transcript line seeks the player; a decision is
    recorded and shows in the audit trail."""
    team = make_team(running_stack, api, "apptest", {"ria": ["submit", "review"]})
    with team.client("ria") as ria:
        job = wait_for_job(ria, upload(ria, sample_video, name="apptest.mp4").json()["id"])
    assert job["status"] == "succeeded"
    app = app_for.run()
    app.text_input(key="sign_in_key").input(team.secrets["ria"])
    app.button[0].click().run()
    app.button(key="claim_next").click().run()
    assert not app.exception, app.exception
    assert f"### {plain('apptest.mp4')}" in [m.value for m in app.markdown], "the name is its own characters"
    assert [s.value for s in app.subheader] == ["Decision"]
    assert app.query_params["job"] == job["id"], "a reload shows the same video"
    line = next(b for b in app.button if "check this video" in b.label)
    line.click().run()
    assert 6.0 <= app.session_state["seek_s"] < 7.0, "the player starts where the sentence is said"
    app.selectbox(key="decision_policy").select("spam").run()
    app.button(key="reject").click().run()
    assert any("A rejection names the policy it breaks" in e.value for e in app.error), "a reason is needed"
    app.button(key="approve").click().run()
    assert not app.success, "a decision is confirmed before it is recorded"
    app.button(key="decision_confirm").click().run()
    assert plain("Recorded: approve (spam) by ria") in [s.value for s in app.success]
    assert app.selectbox(key="decision_policy").value == "none", "the form starts afresh"
    assert "approve (spam)" in app.table[0].value.to_string()


def _policy_page() -> None:
    from vidsafe.ui import policy

    policy.render()


def test_the_policy_page_shows_the_categories_dry_runs_an_edit_and_saves_it(
        running_stack: Settings, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "gateway_url", lambda: running_stack.gateway_url)
    team = make_team(running_stack, api, "policy-page", {"lead": ["admin", "review", "lists"]})
    app = AppTest.from_function(_policy_page, default_timeout=60)
    app.session_state["api_key"] = team.secrets["lead"]
    with GatewayClient(running_stack.gateway_url, team.secrets["lead"]) as lead:
        app.session_state["me"] = lead.me()  # as sign-in keeps it
    app.run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Policy"]
    assert {"scams", "nudity", "threats"} <= set(app.dataframe[0].value["category"])
    document = json.loads(app.text_area(key="policy_edited").value)
    next(c for c in document["categories"] if c["name"] == "spam")["severity"] = 0.5
    document["queues"] = [{"name": "spam-desk"}]
    document["rules"] = [{"name": "spam-to-desk", "state": "draft", "conditions": [{"category": "spam"}],
                          "actions": [{"type": "route", "queue": "spam-desk"}]}]
    app.text_area(key="policy_edited").input(json.dumps(document)).run()
    app.button(key="policy_dry_run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert [m.label for m in app.metric] == ["Past jobs compared", "Newly flagged", "No longer flagged",
                                             "Risk changed"]
    assert [r for d in app.dataframe if "fires on" in d.value for r in d.value["rule"]] == ["spam-to-desk"]
    app.button(key="policy_save").click().run()
    assert any("Saved version 1" in s.value for s in app.success), [s.value for s in app.success]
    app.run()  # the page as it reads now: the rule in the Rules tab
    assert [r for d in app.dataframe if "then" in d.value for r in d.value["rule"]] == ["spam-to-desk"]
    app.button(key="policy_rejudge").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    deadline = time.monotonic() + 60
    while "done" not in (progress := " ".join(p.proto.text for p in app.get("progress"))):
        assert time.monotonic() < deadline, progress
        time.sleep(0.5)
        app.run()
    assert "Re-judging by version 1: done, 0 of 0 past jobs" in progress, progress
    app.text_area(key="policy_edited").input("{not json").run()
    assert any("Not a policy" in e.value for e in app.error)
    # The Reviewers tab: the lead sets the team's protection defaults and exposure limit.
    app.toggle(key="team_gray").set_value(True)
    app.number_input(key="team_exposure_limit").set_value(20.0)
    app.button(key="save_review_settings").click().run()
    assert any("Saved: reviewers" in s.value for s in app.success), [e.value for e in app.error]
    with GatewayClient(running_stack.gateway_url, team.secrets["lead"]) as lead:
        saved = lead.review_settings(team.name)
    assert (saved.defaults.grayscale, saved.exposure_soft_limit_s) == (True, 1200.0)
