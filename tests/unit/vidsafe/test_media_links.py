"""Media links: what a browser streams a video by, signed, bounded in time, bound to one job of one team."""

from __future__ import annotations

import uuid

import pytest

from vidsafe.media import links

SECRET = b"the deployment's key"


def test_a_link_opens_its_own_job_of_its_own_team_until_its_end() -> None:
    job, team = uuid.uuid4(), uuid.uuid4()
    token, issued = links.issue(job, team, 60, SECRET)
    assert links.verify(token, SECRET) == issued == links.MediaLink(job, team, issued.expires_at)
    with pytest.raises(links.LinkRefused) as late:
        links.verify(token, SECRET, now=issued.expires_at)
    assert late.value.expired


@pytest.mark.parametrize("change", [
    lambda token: token.replace(token.split(".")[0], uuid.uuid4().hex),  # another job, the same signature
    lambda token: token.rsplit(".", 2)[0] + ".9999999999." + token.rsplit(".", 1)[1],  # a later end
    lambda token: token[:-2],
    lambda token: "a.b.c.d",
    lambda token: "",
])
def test_an_altered_or_made_up_link_is_refused(change) -> None:
    token, _ = links.issue(uuid.uuid4(), uuid.uuid4(), 60, SECRET)
    with pytest.raises(links.LinkRefused) as refused:
        links.verify(change(token), SECRET)
    assert not refused.value.expired


def test_another_deployments_link_is_refused() -> None:
    token, _ = links.issue(uuid.uuid4(), uuid.uuid4(), 60, b"another key")
    with pytest.raises(links.LinkRefused):
        links.verify(token, SECRET)
