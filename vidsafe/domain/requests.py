"""The request bodies of the API, in one place (the gateway validates them, the client sends them). A job's options
(``JobOptions``) and a team's limits (``TeamLimits``) are bodies too, and live with what they are stored on."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from vidsafe.catalogue import Module
from vidsafe.domain.fields import DEFAULT_PRIORITY, Priority, Score, StrictModel, Text
from vidsafe.domain.jobs import JobOptions
from vidsafe.domain.review import DecisionAction
from vidsafe.domain.rules import QueueName
from vidsafe.domain.teams import TEAM_NAME_PATTERN, Scope, TeamLimits

# ---- jobs ----------------------------------------------------------------------------------------------------------


class Placement(StrictModel):
    """How a submitted job is run: its batch, priority, callback, and whether it starts at once."""

    batch_id: uuid.UUID | None = Field(default=None, description="Add the job to this batch")
    priority: Priority | None = Field(default=None, description="0..9, higher runs first. Unset: the batch's, else 5")
    callback_url: Text | None = Field(default=None, max_length=2000,
                                     description="Receives a signed JSON event when the job ends. Unset: the batch's")
    start: bool | None = Field(default=None, description="Queue at once (true) or wait in pending until started "
                               "(false). Unset: the batch's auto_start, else the auto_process setting")


class PathJobRequest(Placement):
    path: Text = Field(max_length=4096)
    options: JobOptions = Field(default_factory=JobOptions)


class UrlJobRequest(Placement):
    url: Text = Field(max_length=2000, description="http(s) URL of the video, fetched by a worker as the job's first "
                     "step; private addresses are refused unless VIDSAFE_ALLOW_PRIVATE_URLS is set")
    options: JobOptions = Field(default_factory=JobOptions)


class PriorityRequest(StrictModel):
    priority: Priority


# ---- batches -------------------------------------------------------------------------------------------------------

MAX_BATCH_ITEMS = 1000


class BatchRequest(StrictModel):
    name: Text = Field(min_length=1, max_length=200)
    auto_start: bool | None = Field(default=None, description="Queue its jobs at once. Unset: the auto_process "
                                    "setting")
    priority: Priority = DEFAULT_PRIORITY
    callback_url: Text | None = Field(default=None, max_length=2000, description="Receives each job's end event")
    options: JobOptions = Field(default_factory=JobOptions, description="Options of every job of the batch")
    paths: list[Text] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS, description="Server-side videos")
    urls: list[Annotated[Text, Field(max_length=2000)]] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS,
                            description="Videos to download: each job fetches its own, in a worker")


# ---- review --------------------------------------------------------------------------------------------------------

class ClaimRequest(StrictModel):
    """Which queue to claim from, and the filters the reviewer works under."""

    queue: QueueName = "review"
    module: Module | None = None
    label: Text | None = Field(default=None, max_length=300)
    batch_id: uuid.UUID | None = None
    min_risk: Score | None = None


class AssignRequest(StrictModel):
    reviewer: Text | None = Field(max_length=200, description="The key name of the team's reviewer; null: anyone")


class DecisionRequest(StrictModel):
    action: DecisionAction
    policy_label: Text = Field(min_length=1, max_length=100, description="The policy the decision applies, e.g. "
                               "adult_nudity, violent_extremism, none")
    note: Text = Field(default="", max_length=4000)
    start_s: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="A segment's start: the "
                                  "decision is on that segment. Unset: on the whole video")
    end_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class ExposureReport(StrictModel):
    seconds: float = Field(ge=0, le=3600, allow_inf_nan=False, description="Unblurred seconds of sensitive stretches "
                           "played since the last report")


# ---- people --------------------------------------------------------------------------------------------------------

class PersonUpdate(StrictModel):
    name: Text | None = Field(default=None, max_length=200)
    hidden: bool | None = None


class MergeRequest(StrictModel):
    other: uuid.UUID = Field(description="The person merged into this one (and then gone)")


class SplitRequest(StrictModel):
    finding_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=10000,
                                                                        description="Face findings to move")


# ---- hash lists ----------------------------------------------------------------------------------------------------

class HashListRequest(StrictModel):
    name: Text = Field(min_length=1, max_length=200, description="Unique within the team")
    description: Text = Field(default="", max_length=2000)
    default_label: Text = Field(default="known_content", min_length=1, max_length=200,
                                description="The label of imported hashes whose file gives none")


class TermBankRequest(StrictModel):
    name: Text = Field(min_length=1, max_length=200, description="Unique within the team")
    category: Text = Field(min_length=1, max_length=100, description="A category of the team's policy "
                           "(`GET /v1/policies/live`): what the bank's matches evidence")
    description: Text = Field(default="", max_length=2000)


# ---- teams and keys ------------------------------------------------------------------------------------------------

class TeamRequest(TeamLimits):
    name: str = Field(pattern=TEAM_NAME_PATTERN, description="Lower-case letters, digits, _ and -; 63 at most")


KEY_NAME_PATTERN = r"^[\w.@-]{1,200}$"


class KeyRequest(StrictModel):
    name: str = Field(pattern=KEY_NAME_PATTERN, description="Who or what uses the key (letters, digits, . @ _ -); "
                      "shown in audit trails, so never reused within the team")
    scopes: list[Scope] = Field(min_length=1)
