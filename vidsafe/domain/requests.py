"""The request bodies of the API, in one place (the gateway validates them, the client sends them)."""

from __future__ import annotations

from pydantic import Field

from vidsafe.domain.fields import StrictModel, Text
from vidsafe.domain.review import DecisionAction


class DecisionRequest(StrictModel):
    action: DecisionAction
    policy_label: Text = Field(min_length=1, max_length=100, description="The policy the decision applies, e.g. "
                               "adult_nudity, violent_extremism, none")
    note: Text = Field(default="", max_length=4000)
    start_s: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="A segment's start: the "
                                  "decision is on that segment. Unset: on the whole video")
    end_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class PersonUpdate(StrictModel):
    name: Text | None = Field(default=None, max_length=200)
    hidden: bool | None = None


class HashListRequest(StrictModel):
    name: Text = Field(min_length=1, max_length=200, description="Unique within the team")
    description: Text = Field(default="", max_length=2000)
    default_label: Text = Field(default="known_content", min_length=1, max_length=200,
                                description="The label of imported hashes whose file gives none")
