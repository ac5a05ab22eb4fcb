"""The review UI in a real browser: Debian's chromium driven by Playwright, against the real stack. A moderator
signs in, creates a batch with the sample video, waits for it, reviews a video (timeline, findings, seeking by
a transcript line), decides, finds the decision in the audit trail, searches; two reviewers claim at once. A lead
sees the policy's rules, re-judges past jobs and dry-runs the rules; the routed video waits in its queue.
Screenshots of every page go to ``test-artifacts/ui/``."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers.local_http import answer, serve
from tests.helpers.support import TeamKeys, expire_kept_media, make_team, run_job
from vidsafe.domain.api import TEAM_HEADER
from vidsafe.settings import PROJECT_ROOT, Settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "ui"
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `vidsafe setup --browser` (make test) installs Debian's chromium")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def moderators(running_stack: Settings, api: httpx.Client) -> Iterator[TeamKeys]:
    team = make_team(running_stack, api, "moderators", {"mia": ["submit", "review"], "noah": ["review"]},
                     media_retention_s=3600)
    yield team
    expire_kept_media(running_stack, team.name)


def _signed_in(browser: Browser, settings: Settings, secret: str, requested: list[str] | None = None) -> Page:
    """A page signed in with the key (``requested``: every URL it asks for goes there)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    if requested is not None:
        page.on("request", lambda request: requested.append(request.url))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(settings.ui_url)
    page.get_by_label("API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    assert secret not in page.url, "the key never goes into the URL"
    return page


def _open(page: Page, name: str) -> None:
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name).first).to_be_visible()


def _pick(page: Page, label: str, option: str) -> None:
    """Choose an option of a Streamlit selectbox (once a rerun has left only the new one on the page)."""
    expect(page.get_by_label(label, exact=True)).to_have_count(1)
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def _wait_for_player_at(page: Page, seconds: float, tolerance_s: float = 0.2) -> None:
    """Until the player's video (in the component's shadow root) is at ``seconds``."""
    for _ in range(100):
        if abs(page.locator("video").evaluate("v => v.currentTime") - seconds) <= tolerance_s:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the player is at {page.locator('video').evaluate('v => v.currentTime')}, not {seconds}")


def _shot(page: Page, name: str) -> None:
    page.wait_for_timeout(1500)  # let charts and images finish drawing
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_a_moderator_reviews_decides_and_searches_and_two_claim_at_once(
        browser: Browser, running_stack: Settings, moderators: TeamKeys, sample_video: Path, tmp_path: Path) -> None:
    signin = browser.new_page(viewport={"width": 1400, "height": 1600})
    signin.goto(running_stack.ui_url)
    expect(signin.get_by_label("API key")).to_be_visible(timeout=TIMEOUT_MS)
    _shot(signin, "signin")
    signin.close()
    mia = _signed_in(browser, running_stack, moderators.secrets["mia"])

    # A batch of two copies of the sample, started at once.
    videos = []
    for name in ("interview.mp4", "street.mp4"):
        videos.append(tmp_path / name)
        shutil.copy(sample_video, videos[-1])
    _open(mia, "Batches")
    mia.get_by_label("Name").fill("tuesday uploads")
    mia.locator("input[type=file]").set_input_files([str(v) for v in videos])
    expect(mia.get_by_text("street.mp4")).to_be_visible()
    mia.get_by_role("button", name="Create batch").click()
    expect(mia.get_by_text("Batch tuesday uploads created with 2 videos")).to_be_visible()
    expect(mia.get_by_text(re.compile(r"tuesday uploads.*succeeded: 2"))).to_be_visible(timeout=300_000)
    _shot(mia, "batches")

    # Two reviewers claim at once: each gets a video of their own.
    noah = _signed_in(browser, running_stack, moderators.secrets["noah"])
    _open(mia, "Queue")
    expect(mia.get_by_text("Open for review")).to_be_visible()
    expect(mia.locator("[role=gridcell]").filter(has_text="street.mp4").first).to_be_attached()
    _shot(mia, "queue")
    mia.get_by_role("button", name="Claim next").click()
    noah.get_by_role("button", name="Claim next").click()
    titles = []
    for page in (mia, noah):
        expect(page.get_by_role("heading", name="Decision")).to_be_visible()
        titles.append(page.locator("h3").first.inner_text())
    assert sorted(titles) == ["interview.mp4", "street.mp4"], titles
    noah.context.close()

    # The review page: risk, its summary, timeline, flagged frames, the player.
    expect(mia.get_by_text("Why:")).to_be_visible()
    expect(mia.get_by_text("Suggested action:")).to_be_visible()
    expect(mia.get_by_text("by template")).to_be_visible()
    expect(mia.locator("video")).to_be_visible()
    expect(mia.locator("canvas.timeline")).to_be_visible()
    mia.get_by_role("tab", name="Evidence").click()
    expect(mia.locator("[data-testid=stImage]").first).to_be_visible()
    _shot(mia, "review")

    # The face is found in the batch's other video (searched across videos, not filtered after).
    mia.get_by_role("tab", name="Faces").click()
    mia.get_by_role("button", name="Find in other videos").first.click()
    expect(mia.get_by_text(re.compile(r"\d+ faces in other videos"))).to_be_visible()

    # Seek by clicking a transcript line: the player starts where the sentence is said.
    mia.get_by_role("tab", name="Transcript").click()
    line = mia.get_by_role("tabpanel").get_by_role("button", name=re.compile(r"check this video"))
    said_at = float(re.search(r"(\d+):(\d+\.\d)", line.inner_text()).group(2))
    line.click()
    expect(mia.get_by_text(re.compile(rf"player at 00:0?{int(said_at)}\."))).to_be_visible()
    _wait_for_player_at(mia, said_at)

    # A stretch of exposed skin: blurred in the player, what it holds written over it, until revealed.
    job_id = re.search(r"job=([0-9a-f-]+)", mia.url).group(1)
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO segments (job_id, module, label, start_s, end_s, max_score, mean_score, count) "
                     "VALUES (%s, 'nudity', 'FEMALE_BREAST_EXPOSED', 1.0, 3.0, 0.9, 0.8, 3)", (job_id,))
    mia.set_viewport_size({"width": 1440, "height": 900})
    mia.reload()
    timeline = mia.locator("canvas.timeline")
    expect(timeline).to_be_visible()
    box = timeline.bounding_box()
    duration = mia.locator("video").evaluate("v => v.duration || 12")
    # The lane of the riskiest category is the top one; the band's middle, at 2 s.
    mia.mouse.click(box["x"] + 120 + (2.0 / duration) * (box["width"] - 120), box["y"] + 8)
    _wait_for_player_at(mia, 2.0, tolerance_s=0.3)
    expect(mia.locator("video.blurred")).to_have_count(1)
    expect(mia.locator(".veil .why")).to_contain_text("FEMALE_BREAST_EXPOSED 0.90")
    # The player and the decision are above the fold at 1440x900.
    for part in (mia.locator("video"), timeline, mia.get_by_role("button", name="Approve")):
        placed = part.bounding_box()
        assert placed is not None and placed["y"] + placed["height"] <= 900, placed
    _shot(mia, "review-blurred")
    mia.get_by_role("button", name="Reveal this stretch").click()
    expect(mia.locator("video.blurred")).to_have_count(0)

    # A decision on one flagged segment (picking it seeks there) leaves the video open for the other.
    mia.get_by_test_id("stRadioGroup").get_by_text(re.compile(r"^00:01\.0-00:03\.0 nudity \(")).click()
    _wait_for_player_at(mia, 1.0, tolerance_s=0.1)
    mia.get_by_role("button", name="Approve").click()
    mia.get_by_role("button", name="Confirm").click()
    expect(mia.get_by_text("Recorded: approve (none) by mia")).to_be_visible()
    expect(mia.get_by_text("1 of 2 flagged segments decided; the item is open")).to_be_visible()

    # The whole video: a rejection asks for its reason, then once to confirm; then it is in the audit trail.
    mia.get_by_role("button", name="Reject").click()
    expect(mia.get_by_text("A rejection names the policy it breaks")).to_be_visible()
    _pick(mia, "Policy", "scams")
    mia.get_by_label("Reason").fill("gift-card scam")
    mia.get_by_role("button", name="Reject").click()
    mia.get_by_role("button", name="Confirm").click()
    expect(mia.get_by_text("Recorded: reject (scams) by mia")).to_be_visible()
    expect(mia.get_by_text("2 of 2 flagged segments decided; the item is decided")).to_be_visible()
    mia.get_by_role("tab", name="Audit trail").click()
    expect(mia.locator("[data-testid=stTable]")).to_contain_text("reject (scams): gift-card scam")
    _shot(mia, "review-decided")

    # A reload keeps the reviewer signed in, on the same video (its id is in the address, the key is not).
    mia.reload()
    expect(mia.get_by_role("heading", name=titles[0])).to_be_visible()
    expect(mia.get_by_label("API key")).to_have_count(0)
    mia.set_viewport_size({"width": 1400, "height": 1600})

    # Search for the spoken sentence and the caption.
    _open(mia, "Search")
    for query, expected in (("check this video", "Please check this video"), ("gift cards", "FREE GIFT CARDS INSIDE")):
        mia.get_by_label("Words or a sentence").fill(query)
        mia.get_by_role("button", name="Search").click()
        expect(mia.get_by_text(expected).first).to_be_visible()
    _shot(mia, "search")

    _open(mia, "People")
    _shot(mia, "people")
    # Monitoring: the team's figures, and the operations charts from the stack's Prometheus.
    _open(mia, "Monitoring")
    expect(mia.get_by_text("Open reviews")).to_be_visible()
    expect(mia.get_by_text("Frames analysed per second")).to_be_visible()
    expect(mia.locator("[data-testid=stVegaLiteChart]").nth(2)).to_be_visible()
    _shot(mia, "monitoring")
    mia.context.close()


def test_names_and_texts_are_shown_as_they_are_never_as_markdown(browser: Browser, running_stack: Settings,
                                                                 moderators: TeamKeys) -> None:
    """A batch named with a Markdown link and image once made the reviewer's browser fetch the image from wherever
    the name pointed, and showed a link under other words; now the name is its characters."""
    with serve(lambda handler: answer(handler, 200, b"GIF89a")) as (listener, requests):
        hostile = f"[open me]({listener}/link) ![pixel]({listener}/pixel.png) :red[alarm] $x^2$"
        with moderators.client("mia") as mia_api:
            created = mia_api.post("/v1/batches", json={"name": hostile, "auto_start": False})
            assert created.status_code == 201, created.text
        mia = _signed_in(browser, running_stack, moderators.secrets["mia"])
        _open(mia, "Batches")
        expect(mia.get_by_text(hostile, exact=False).first).to_be_visible()
        mia.wait_for_timeout(2000)  # time for an image, had one been rendered, to be fetched
        _shot(mia, "batches-hostile-name")
        assert mia.locator(f"img[src^='{listener}']").count() == 0
        # A bare address may be made a link by the browser's Markdown (its text is the address itself); "open me"
        # is never a link hiding one.
        anchors = mia.locator(f"a[href^='{listener}']")
        shown = [anchors.nth(i).evaluate("a => [a.textContent, a.href]") for i in range(anchors.count())]
        assert all(text == href for text, href in shown), shown
        mia.context.close()
    assert requests == [], [request.path for request in requests]


def test_a_key_revoked_while_signed_in_stops_working_in_the_ui_at_once(
        browser: Browser, running_stack: Settings, api: httpx.Client, moderators: TeamKeys) -> None:
    """Once the UI went on serving a revoked key's cached reads for up to ten minutes."""
    issued = api.post("/v1/keys", json={"name": "leaving", "scopes": ["review"]},
                      headers={TEAM_HEADER: moderators.name})
    assert issued.status_code == 201, issued.text
    page = _signed_in(browser, running_stack, issued.json()["secret"])
    _open(page, "Batches")
    api.post("/v1/keys/leaving/revoke", headers={TEAM_HEADER: moderators.name}).raise_for_status()
    page.get_by_role("link", name="Queue").click()
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_text("signed out: the API key is unknown or revoked")).to_be_visible()
    page.context.close()


def test_a_lead_sees_the_rules_dry_runs_them_and_re_judges_past_jobs(
        browser: Browser, running_stack: Settings, api: httpx.Client, sample_video: Path) -> None:
    leads = make_team(running_stack, api, "leads", {"lena": ["admin", "submit", "review"]})
    with leads.client("lena") as lena_api:
        run_job(lena_api, sample_video)
        document = lena_api.get("/v1/policies/live").json()["document"]
        document["queues"] = [{"name": "scam-desk", "description": "fraud specialists"}]
        document["rules"] = [{"name": "scams-to-desk", "state": "live", "conditions": [{"category": "scams"}],
                              "actions": [{"type": "route", "queue": "scam-desk", "priority": 5},
                                          {"type": "require_two_reviewers"}]}]
        assert lena_api.post("/v1/policies", json=document).status_code == 201
    requested: list[str] = []
    lena = _signed_in(browser, running_stack, leads.secrets["lena"], requested)
    _open(lena, "Policy")
    lena.get_by_role("tab", name="Rules").click()
    # a canvas grid: its cells are in the DOM, hidden
    expect(lena.locator("[role=gridcell]").filter(has_text="scams-to-desk").first).to_be_attached()
    lena.get_by_role("button", name="Re-judge past jobs by the live version").click()
    expect(lena.get_by_text(re.compile(r"Re-judging by version 1: done, 1 of 1 past jobs"))).to_be_visible()
    _shot(lena, "policy-rules")
    lena.get_by_role("tab", name="Edit and dry-run").click()
    lena.get_by_role("button", name="Dry run on past jobs").click()
    expect(lena.get_by_text("Its rules on the same jobs")).to_be_visible()
    _shot(lena, "policy-dry-run")
    # The routed video waits in the team's own queue; its review page says which rule sent it there.
    _open(lena, "Queue")
    expect(lena.get_by_text("Open in the team's own queues: scam-desk 1")).to_be_visible()
    lena.get_by_text("scam-desk", exact=True).click()  # the queue picker's option
    lena.get_by_role("button", name="Claim next").click()
    expect(lena.get_by_role("heading", name="sample.mp4")).to_be_visible()
    expect(lena.get_by_text(re.compile(r"Rules: scams-to-desk routed to queue scam-desk"))).to_be_visible()
    _shot(lena, "review-rules")
    lena.context.close()
    # Nothing is asked of any other host (the page icon, fonts and icons are the UI's own).
    local = (running_stack.ui_url, running_stack.ui_url.replace("http", "ws", 1), "data:", "blob:")
    assert [url for url in requested if not url.startswith(local)] == []
