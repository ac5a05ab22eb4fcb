"""Server-side paths a team may name (path jobs): only regular files under its own ingest roots.

A path is first checked as written (absolute, inside a root once normalised: nothing outside is even opened, so a
device or a FIFO elsewhere is never touched), then opened without following a final symlink, and the path the open
file really has is checked again: a symlink inside a root that points out of it, or one swapped in after the gateway
checked, is refused at the moment of use. The worker does this again before it reads the file, and reads it by the
real path it found. Whatever the reason (missing, outside, not a regular file), the answer is the same, so it tells
nothing about what exists outside the team's roots.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.settings import Settings


def team_ingest_roots(settings: Settings, team: str, operator: bool) -> list[Path]:
    """The team's roots: ``team_ingest_roots`` names them, and the operator team has ``ingest_roots`` too."""
    return [*(settings.ingest_roots if operator else []), *settings.team_ingest_roots.get(team, [])]


def not_ingestable(path: str | Path, roots: list[Path]) -> MediaError:
    if not roots:
        return MediaError(ErrorCode.path_not_allowed, "this team has no ingest roots, so server-side paths are "
                          "refused (the operator sets VIDSAFE_INGEST_ROOTS or VIDSAFE_TEAM_INGEST_ROOTS)")
    return MediaError(ErrorCode.path_not_allowed, f"no video file at {path} within the team's ingest roots")


def ingested_path(path: str | Path, roots: list[Path]) -> Path:
    """The real path of the regular file ``path`` names inside one of ``roots``; MediaError path_not_allowed
    otherwise, the same for every reason."""
    written = Path(os.path.normpath(path))
    real_roots = [root.resolve() for root in roots]
    if not written.is_absolute() or not any(written.is_relative_to(root) or written.is_relative_to(real)
                                            for root, real in zip(roots, real_roots, strict=True)):
        raise not_ingestable(path, roots)
    try:
        descriptor = os.open(written, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise not_ingestable(path, roots) from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise not_ingestable(path, roots)
        real = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
    finally:
        os.close(descriptor)
    if not any(real.is_relative_to(root) for root in real_roots):
        raise not_ingestable(path, roots)
    return real
