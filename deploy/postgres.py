"""The embedded Postgres 16 + pgvector: the server binaries of the ``pgserver`` wheel, run directly.

pgserver's own Python API ties the server's life to the calling process; the launcher needs a plain
child process it can start, check and stop like the other services, so only the binaries are used.
Postgres refuses to run as root: under root it runs as a system user of its own, which is let through the
folders above its data and binaries by an ACL entry of its own (not by opening them to every user).

It asks every client for a password (scram-sha-256), a generated one kept in ``state_dir/secrets``: trust, as
clusters were first made, let any local user connect as the superuser and run ``COPY ... TO PROGRAM``. A cluster
made so is given the password and switched over the next time the launcher starts it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from vidsafe.db.binaries import PG_BIN
from vidsafe.deploy.access import let_traverse
from vidsafe.settings import Settings
from vidsafe.settings.services import local_password

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


def data_dir(settings: Settings) -> Path:
    return settings.state_dir / "postgres"


def ensure_cluster(settings: Settings) -> None:
    """initdb once: a cluster that asks for the generated password, reachable only on loopback (see
    postgres_command); a cluster made with trust before is switched over."""
    pgdata = data_dir(settings)
    user = run_as_user()
    pgdata.mkdir(parents=True, exist_ok=True)
    password = local_password(settings.state_dir, "postgres")
    if user:
        _ensure_system_user()
        let_traverse(pgdata, user)
        let_traverse(PG_BIN / "postgres", user)
        shutil.chown(pgdata, user, user)
    pgdata.chmod(0o700)
    if not (pgdata / "PG_VERSION").exists():
        with tempfile.TemporaryDirectory() as scratch:
            # initdb reads the password from a file its user owns, removed with the folder once it is done.
            pwfile = Path(scratch) / "password"
            pwfile.touch(mode=0o600)
            pwfile.write_text(password)
            if user:
                shutil.chown(scratch, user, user)
                shutil.chown(pwfile, user, user)
            subprocess.run(
                [str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "--encoding=UTF8", "--no-instructions"],
                check=True, capture_output=True, **process_identity(),
            )
    _stop_trusting(pgdata, password)


_TRUST = re.compile(r"^(\s*(?:local|host)\S*\s.*\s)trust(\s*)$", re.MULTILINE)


def _stop_trusting(pgdata: Path, password: str) -> None:
    """A cluster made with trust: the superuser gets the password (in single-user mode, the server being down), and
    every line of pg_hba.conf asks for it."""
    hba = pgdata / "pg_hba.conf"
    rules = hba.read_text()
    if not _TRUST.search(rules):
        return
    subprocess.run([str(PG_BIN / "postgres"), "--single", "-D", str(pgdata), "postgres"],
                   input=f"ALTER USER postgres PASSWORD '{password}';\n", text=True, check=True, capture_output=True,
                   **process_identity())
    hba.write_text(_TRUST.sub(r"\1scram-sha-256\2", rules))


def postgres_command(settings: Settings) -> list[str]:
    return [
        str(PG_BIN / "postgres"), "-D", str(data_dir(settings)), "-p", str(settings.postgres_port),
        "-c", "listen_addresses=127.0.0.1",
        # No unix socket: its path would be limited to 107 bytes and collide between stacks.
        "-c", "unix_socket_directories=",
    ]
