"""The policy a deployment judges by, as reviewers see it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReviewPolicy(BaseModel):
    """The policy values the review UI shows: what is stored, how severe each category is, and what is blurred."""

    min_scores: dict[str, float] = Field(description="Each module's score threshold: findings below it are not stored")
    severities: dict[str, float] = Field(description="Each category's severity, 0..1 (`module` or `module:label`, the "
                                         "label's own first): a segment raises its job's risk by severity x score")
    blur_min_severity: float = Field(description="Thumbnails of categories at least this severe are blurred until "
                                     "revealed (unless the reviewer turns blurring off)")
    version: int = Field(default=0, description="The version of the team's policy these come from (0: the default)")
    text_categories: dict[str, str] = Field(default_factory=dict, description="The categories what is said and "
                                            "written is judged by, each with its description: what a term bank's "
                                            "category names")
