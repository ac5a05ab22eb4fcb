"""The fetch part of a job submitted by URL: download the video (size-limited, through the SSRF guard, under
the part's lease), then plan the rest of the job. The request that submitted the URL answered at once."""

from __future__ import annotations

import psycopg

from vidsafe import outbound
from vidsafe.db import parts
from vidsafe.db.parts import Lease
from vidsafe.observability import time_stage
from vidsafe.settings import Settings
from vidsafe.workers.jobs import JobSource
from vidsafe.workers.planning import plan_media


def run_fetch(conn: psycopg.Connection, lease: Lease, source: JobSource, settings: Settings) -> bool:
    """Download the job's video unless an earlier attempt did, and plan the job's parts; False, with the job
    failed, if the video cannot be analysed. A refused or failed download raises OutboundRefused."""
    assert source.url is not None, "only a job submitted by URL has a fetch part"
    if not source.path.is_file():
        # Each attempt downloads to a file of its own; the file becomes the job's only while the lease holds.
        partial = source.path.with_name(f"{source.path.name}.fetch{lease.attempt}")
        try:
            with time_stage("all", "fetch"):
                outbound.download(source.url, partial, max_bytes=settings.max_upload_bytes,
                                  timeout_s=settings.outbound_timeout_s, deadline_s=settings.download_deadline_s,
                                  allow_private=settings.allow_private_urls)
            parts.renew(conn, lease, settings.part_lease_s)
            partial.replace(source.path)
        finally:
            partial.unlink(missing_ok=True)
    return plan_media(conn, source, settings)
