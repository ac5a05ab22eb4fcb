"""Numbering a job's faces by identity (no stack needed)."""

from __future__ import annotations

import numpy as np

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.workers.faces import assign_identities


def _face(finding_id: int, t: float, vector: np.ndarray) -> Finding:
    unit = vector / np.linalg.norm(vector)
    return Finding(id=finding_id, module=Module.faces, label="face", score=0.9, timestamp_s=t,
                   embedding=unit.tolist())


def test_the_same_person_seen_twice_is_one_identity() -> None:
    rng = np.random.default_rng(3)
    alice, bob = rng.normal(size=128), rng.normal(size=128)
    faces = [
        _face(1, 3.0, alice + rng.normal(scale=0.3, size=128)),
        _face(2, 3.5, bob + rng.normal(scale=0.3, size=128)),
        _face(3, 9.0, alice + rng.normal(scale=0.3, size=128)),
        _face(4, 9.5, bob + rng.normal(scale=0.3, size=128)),
    ]
    assert assign_identities(faces, min_cosine=0.363) == {1: 1, 2: 2, 3: 1, 4: 2}


def test_identities_follow_first_appearance_and_the_threshold() -> None:
    rng = np.random.default_rng(4)
    faces = [_face(10, 5.0, rng.normal(size=128)), _face(11, 1.0, rng.normal(size=128))]
    assert assign_identities(faces, min_cosine=0.363) == {11: 1, 10: 2}
    # At a cosine threshold of -1 everything is one person.
    assert set(assign_identities(faces, min_cosine=-1.0).values()) == {1}
