"""Term banks through the gateway: made for a policy category, terms imported all or nothing (a bad line named and
nothing saved), read back as a file that imports again, kept within the team, changed only with the lists scope
and each change in the team's audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.support import TeamKeys, make_team
from vidsafe.settings import Settings


@pytest.fixture(scope="module")
def team(running_stack: Settings, api: httpx.Client) -> TeamKeys:
    return make_team(running_stack, api, "bank-keepers", {"lead": ["lists", "review"], "reviewer": ["review"],
                                                                "admin": ["admin"]})


@pytest.fixture(scope="module")
def lead(team: TeamKeys) -> Iterator[httpx.Client]:
    with team.client("lead") as client:
        yield client


def _import(client: httpx.Client, bank_id: str, content: str, replace: bool = False) -> httpx.Response:
    return client.post(f"/v1/term-banks/{bank_id}/imports", content=content.encode(),
                       params={"replace": str(replace).lower()}, headers={"Content-Type": "text/plain"})


def test_a_bank_is_made_filled_read_back_and_removed(lead: httpx.Client, team: TeamKeys) -> None:
    created = lead.post("/v1/term-banks", json={"name": "scam-lines", "category": "scams"})
    assert created.status_code == 201, created.text
    bank = created.json()
    assert (bank["category"], bank["terms"], bank["version"]) == ("scams", 0, 1)
    imported = _import(lead, bank["id"], "# gift card scams\ngift card\nre:bank\\s+details?\ngift card\n")
    assert imported.status_code == 200, imported.text
    assert (imported.json()["added"], imported.json()["duplicates"], imported.json()["bank"]["terms"]) == (2, 1, 2)
    terms = lead.get(f"/v1/term-banks/{bank['id']}/terms")
    assert terms.headers["content-type"].startswith("text/plain") and terms.text == "gift card\nre:bank\\s+details?\n"
    replaced = _import(lead, bank["id"], "double your money\n", replace=True)
    assert replaced.json()["bank"]["terms"] == 1 and replaced.json()["bank"]["version"] == 3
    assert [b["name"] for b in lead.get("/v1/term-banks").json()] == ["scam-lines"]
    assert lead.delete(f"/v1/term-banks/{bank['id']}").status_code == 204
    gone = lead.get(f"/v1/term-banks/{bank['id']}")
    assert (gone.status_code, gone.json()["detail"]["code"]) == (404, "term_bank_not_found")
    with team.client("admin") as admin:
        actions = [e["action"] for e in admin.get("/v1/audit").json() if e["subject"] == "scam-lines"]
    assert sorted(actions) == ["term_bank.created", "term_bank.deleted", "term_bank.imported", "term_bank.imported"]


def test_a_file_with_a_bad_line_is_refused_whole_naming_the_line(lead: httpx.Client) -> None:
    bank = lead.post("/v1/term-banks", json={"name": "insults", "category": "harassment"}).json()
    refused = _import(lead, bank["id"], "idiot\nmoron\nre:(a+)+\\1\n")
    assert refused.status_code == 422
    assert refused.json()["detail"] == {"code": "invalid_terms", "message": "line 3: not a regular expression RE2 "
                                        "runs in linear time: invalid escape sequence: \\1"}
    assert lead.get(f"/v1/term-banks/{bank['id']}").json()["terms"] == 0, "nothing of the file is saved"
    not_utf8 = lead.post(f"/v1/term-banks/{bank['id']}/imports", content=b"caf\xe9\n",
                         headers={"Content-Type": "text/plain"})
    assert (not_utf8.status_code, not_utf8.json()["detail"]["code"]) == (422, "invalid_terms")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "x", "category": "astrology"}, 422, "unknown_text_category"),
    ({"name": "x", "category": "scams", "colour": "red"}, 422, "invalid_options"),
    ({"name": "", "category": "scams"}, 422, "invalid_request"),
])
def test_a_wrong_bank_is_refused_with_its_code(lead: httpx.Client, body: dict, status: int, code: str) -> None:
    refused = lead.post("/v1/term-banks", json=body)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (status, code)


def test_names_are_unique_and_banks_stay_within_their_team(
        lead: httpx.Client, team: TeamKeys, running_stack: Settings, api: httpx.Client) -> None:
    bank = lead.post("/v1/term-banks", json={"name": "drugs", "category": "drugs_weapons_sale"}).json()
    again = lead.post("/v1/term-banks", json={"name": "drugs", "category": "drugs_weapons_sale"})
    assert (again.status_code, again.json()["detail"]["code"]) == (409, "term_bank_name_taken")
    with team.client("reviewer") as reviewer:
        assert reviewer.get(f"/v1/term-banks/{bank['id']}").status_code == 200, "reviewers read the banks"
        written = _import(reviewer, bank["id"], "weed\n")
        assert (written.status_code, written.json()["detail"]["code"]) == (403, "insufficient_scope")
    other = make_team(running_stack, api, "bank-outsiders", {"lead": ["lists", "review"]})
    with other.client("lead") as outsider:
        for response in (outsider.get(f"/v1/term-banks/{bank['id']}"), _import(outsider, bank["id"], "weed\n"),
                         outsider.get(f"/v1/term-banks/{bank['id']}/terms"),
                         outsider.delete(f"/v1/term-banks/{bank['id']}")):
            assert (response.status_code, response.json()["detail"]["code"]) == (404, "term_bank_not_found")
        assert outsider.get("/v1/term-banks").json() == []
