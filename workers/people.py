"""People across videos, built incrementally as each job's rules run (as Immich groups faces into people).

A job's faces are first numbered by identity within the job (``faces.assign_identities``). Each identity's mean
embedding then joins the team's nearest person if their cosine similarity reaches ``face_identity_min_cosine``,
or starts a new person; each person's centroid is the mean of all their faces. A job run again is assigned
afresh. Naming, merging, splitting and hiding are the gateway's (``gateway/people.py``).
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import numpy as np
import psycopg

from vidsafe.db import people
from vidsafe.domain.findings import Finding


def assign_people(conn: psycopg.Connection, job_id: UUID, team_id: UUID, faces: list[Finding],
                  identities: dict[int, int], min_cosine: float) -> dict[int, UUID]:
    """Each identity of the job joined to a person; returns identity -> person."""
    groups: dict[int, list[Finding]] = defaultdict(list)
    for face in faces:
        if face.id in identities and face.embedding is not None:
            groups[identities[face.id]].append(face)
    joined: dict[int, UUID] = {}
    with conn.transaction():
        people.lock_people(conn, team_id)
        people.clear_job_people(conn, job_id)
        for identity, members in sorted(groups.items()):
            vectors = np.asarray([f.embedding for f in members], dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
            mean = vectors.mean(axis=0)
            nearest = people.nearest_person(conn, team_id, mean.tolist())
            if nearest is not None and 1 - nearest[1] >= min_cosine:
                person = nearest[0]
            else:
                person = people.new_person(conn, team_id, mean.tolist())
            people.set_person(conn, [f.id for f in members if f.id is not None], person)
            joined[identity] = person
        people.refresh_centroids(conn, team_id)
    return joined
