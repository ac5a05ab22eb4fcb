"""OpenAPI links: which operation reads what another one made (a created job's id leads to the job, its
findings, its audit trail...). Clients and the schemathesis stateful run follow them."""

from __future__ import annotations

from typing import Any


def links(status: int, **targets: tuple[str, dict[str, str]]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route whose ``status`` answer leads, by each link name, to an operation id
    with its parameters taken from the answer (runtime expressions such as ``$response.body#/id``)."""
    return {status: {"links": {name: {"operationId": operation, "parameters": parameters}
                               for name, (operation, parameters) in targets.items()}}}


def job_links(status: int, id_expression: str = "$response.body#/id") -> dict[int | str, dict[str, Any]]:
    """From an answer holding a job to what can be read and done with it."""
    job = {"job_id": id_expression}
    return links(status, GetJob=("get_job", job), GetFindings=("get_findings", job),
                 GetSegments=("get_segments", job), GetEvents=("get_events", job),
                 GetWebhooks=("get_webhook_deliveries", job), ControlJob=("control_job", job),
                 SetPriority=("set_priority", job))


def review_links(status: int) -> dict[int | str, dict[str, Any]]:
    """From an answer holding a review item (or a decision) to its job and what a reviewer does next."""
    job = {"job_id": "$response.body#/job_id"}
    return links(status, GetJob=("get_job", job), GetFindings=("get_findings", job), GetMedia=("get_media", job),
                 GetEvents=("get_events", job), GetReview=("get_review_item", job),
                 ListDecisions=("list_job_decisions", job))
