"""The people resource: the team's faces across videos grouped into people (``workers/people.py``); a person
can be named, hidden, merged with another, or have faces split off; every video a person appears in."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from vidsafe.db import people
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import FrameHit
from vidsafe.domain.requests import MergeRequest, PersonUpdate, SplitRequest
from vidsafe.domain.review import Person
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned
from vidsafe.gateway.services import people as people_service

router = APIRouter(prefix="/v1/people", tags=["people"])


@router.get("", response_model=list[Person], responses={200: {"headers": PAGED_HEADERS}})
def list_people(request: Request, response: Response, conn: ConnDep, caller: ReviewerDep, hidden: bool = False,
                limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: CursorParam = None) -> list[Person]:
    """The team's people, most faces first (hidden ones only with ``hidden``)."""
    return paged(request, response, people.people(conn, caller.team_id, hidden, limit, cursor))


@router.get("/{person_id}", response_model=Person)
def get_person(person_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep) -> Person:
    return owned.person(conn, caller.team_id, person_id)


@router.patch("/{person_id}", response_model=Person)
def update_person(person_id: uuid.UUID, body: PersonUpdate, conn: ConnDep, caller: ReviewerDep) -> Person:
    """Name or hide (or show again) a person."""
    if not people.update_person(conn, caller.team_id, person_id, body):
        raise Refusal(404, ErrorCode.person_not_found, f"no person {person_id}")
    return owned.person(conn, caller.team_id, person_id)


@router.get("/{person_id}/appearances", response_model=list[FrameHit])
def appearances(person_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep,
                limit: Annotated[int, Query(ge=1, le=10000)] = 200,
                every_face: Annotated[bool, Query(description="Every face of theirs, not the best of each video "
                                                  "(what a merge moves, and an undo splits off again)")] = False,
                ) -> list[FrameHit]:
    """Every video the person appears in: their best face in each."""
    owned.person(conn, caller.team_id, person_id)
    return people.person_faces(conn, caller.team_id, person_id, limit, every_face)


@router.post("/{person_id}/merge", response_model=Person)
def merge(person_id: uuid.UUID, body: MergeRequest, conn: ConnDep, caller: ReviewerDep) -> Person:
    """Merge another person into this one: their faces join it, and the other is gone."""
    return people_service.merge(conn, caller.team_id, person_id, body.other)


@router.post("/split", status_code=status.HTTP_201_CREATED, response_model=Person)
def split(body: SplitRequest, conn: ConnDep, caller: ReviewerDep) -> Person:
    """Move faces (face findings of the team's videos) to a new person of their own."""
    return people_service.split(conn, caller.team_id, body.finding_ids)
