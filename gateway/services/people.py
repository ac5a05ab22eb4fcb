"""People: a person merged into another, faces split off into a person of their own, each checked against the
team's people and faces first."""

from __future__ import annotations

import uuid

import psycopg

from vidsafe.db import people
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.review import Person
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned


def merge(conn: psycopg.Connection, team_id: uuid.UUID, person_id: uuid.UUID, other: uuid.UUID) -> Person:
    """``other``'s faces joined to the person, and ``other`` gone."""
    owned.person(conn, team_id, person_id)
    owned.person(conn, team_id, other)
    if other == person_id:
        raise Refusal(422, ErrorCode.invalid_request, "a person cannot be merged into themselves")
    people.merge_people(conn, team_id, person_id, other)
    return owned.person(conn, team_id, person_id)


def split(conn: psycopg.Connection, team_id: uuid.UUID, finding_ids: list[int]) -> Person:
    """The faces (face findings of the team's videos) moved to a new person of their own."""
    faces = people.team_face_ids(conn, team_id, list(dict.fromkeys(finding_ids)))
    if len(faces) != len(set(finding_ids)):
        raise Refusal(404, ErrorCode.face_not_found, "some of finding_ids are not stored faces of the team's videos")
    return owned.person(conn, team_id, people.split_person(conn, team_id, faces))
