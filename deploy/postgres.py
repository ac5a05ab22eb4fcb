"""The embedded Postgres 16 + pgvector: the server binaries of the ``pgserver`` wheel, run directly.

pgserver's own Python API ties the server's life to the calling process; the launcher needs a plain
child process it can start, check and stop like the other services, so only the binaries are used.
Postgres refuses to run as root: under root it runs as a system user of its own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from vidsafe.db.binaries import PG_BIN
from vidsafe.settings import Settings

SYSTEM_USER = "vidsafe-pg"


def run_as_user() -> str | None:
    """The system user Postgres runs as: a dedicated one under root, else the current user (None)."""
    return SYSTEM_USER if os.geteuid() == 0 else None


def process_identity() -> dict:
    """subprocess keyword arguments that run a Postgres program as ``run_as_user()``: uid, gid and
    supplementary groups all switched (initdb fails with root's groups kept)."""
    user = run_as_user()
    return {"user": user, "group": user, "extra_groups": []} if user else {}


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True)


def _let_others_traverse(path: Path) -> None:
    """Add o+x to every folder above ``path`` so the Postgres user can reach its data and binaries."""
    for folder in path.parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def data_dir(settings: Settings) -> Path:
    return settings.state_dir / "postgres"


def ensure_cluster(settings: Settings) -> None:
    """initdb once: a cluster with trust auth, reachable only on loopback (see postgres_command)."""
    pgdata = data_dir(settings)
    user = run_as_user()
    pgdata.mkdir(parents=True, exist_ok=True)
    if user:
        _ensure_system_user()
        _let_others_traverse(pgdata)
        _let_others_traverse(PG_BIN)
        shutil.chown(pgdata, user, user)
    pgdata.chmod(0o700)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
             "--no-instructions"],
            check=True, capture_output=True, **process_identity(),
        )


def postgres_command(settings: Settings) -> list[str]:
    return [
        str(PG_BIN / "postgres"), "-D", str(data_dir(settings)), "-p", str(settings.postgres_port),
        "-c", "listen_addresses=127.0.0.1",
        # No unix socket: its path would be limited to 107 bytes and collide between stacks.
        "-c", "unix_socket_directories=",
    ]
