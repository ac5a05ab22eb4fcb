"""What the caller's team owns: each resource looked up within the team, or the 404 that says it is not there
(another team's is as absent as one that never was)."""

from __future__ import annotations

from uuid import UUID

import psycopg

from vidsafe.db import batches, hash_lists, jobs, people, review, term_banks
from vidsafe.domain.batches import Batch
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.hash_lists import HashList
from vidsafe.domain.jobs import Job
from vidsafe.domain.review import Person, ReviewItem
from vidsafe.domain.term_banks import TermBank
from vidsafe.gateway.refusals import found_or_404


def job(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> Job:
    return found_or_404(jobs.get_job(conn, job_id, team_id), ErrorCode.job_not_found, f"no job {job_id}")


def batch(conn: psycopg.Connection, team_id: UUID, batch_id: UUID) -> Batch:
    return found_or_404(batches.get_batch(conn, batch_id, team_id), ErrorCode.batch_not_found, f"no batch {batch_id}")


def review_item(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> ReviewItem:
    return found_or_404(review.get_item(conn, team_id, job_id), ErrorCode.review_not_found,
                        f"job {job_id} is not in the team's review queue")


def person(conn: psycopg.Connection, team_id: UUID, person_id: UUID) -> Person:
    return found_or_404(people.get_person(conn, team_id, person_id), ErrorCode.person_not_found,
                        f"no person {person_id}")


def hash_list(conn: psycopg.Connection, team_id: UUID, list_id: UUID) -> HashList:
    return found_or_404(hash_lists.get_list(conn, team_id, list_id), ErrorCode.hash_list_not_found,
                        f"no hash list {list_id}")


def term_bank(conn: psycopg.Connection, team_id: UUID, bank_id: UUID) -> TermBank:
    return found_or_404(term_banks.get_bank(conn, team_id, bank_id), ErrorCode.term_bank_not_found,
                        f"no term bank {bank_id}")
