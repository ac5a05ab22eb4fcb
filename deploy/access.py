"""Who may reach the local stack's files: its state folder is its owner's alone, and the one other user that must
pass through folders above it (Postgres' own, under root) is let through by an ACL entry naming it, never by
opening the folders to every local user."""

from __future__ import annotations

import os
import pwd
import stat
import struct
from pathlib import Path

# The Linux xattr form of a POSIX ACL: a version, then (tag, permissions, id) entries in tag order.
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_EXECUTE = 1


def _stored_entries(folder: Path) -> list[tuple[int, int, int]] | None:
    try:
        raw = os.getxattr(folder, _ACL_XATTR)
    except OSError:  # no ACL beyond the mode bits
        return None
    return [struct.unpack_from("<HHI", raw, offset) for offset in range(4, len(raw), 8)]


def _entries(folder: Path) -> list[tuple[int, int, int]]:
    """The folder's ACL; the one its mode bits stand for when it has none of its own."""
    mode = folder.stat().st_mode
    return _stored_entries(folder) or [(_USER_OBJ, mode >> 6 & 7, _NO_ID), (_GROUP_OBJ, mode >> 3 & 7, _NO_ID),
                                       (_OTHER, mode & 7, _NO_ID)]


def _can_traverse(folder: Path, uid: int, gid: int) -> bool:
    info = folder.stat()
    if info.st_mode & stat.S_IXOTH or (info.st_uid == uid and info.st_mode & stat.S_IXUSR):
        return True
    entries = _entries(folder)
    mask = next((permissions for tag, permissions, _ in entries if tag == _MASK), 7)
    # A named entry counts only as far as the mask lets it (a chmod since may have narrowed the mask).
    named = any(tag == _USER and who == uid and permissions & mask & _EXECUTE for tag, permissions, who in entries)
    return named or (info.st_gid == gid and bool(info.st_mode & stat.S_IXGRP))


def let_traverse(path: Path, user: str) -> None:
    """Let ``user`` (only) through every folder above ``path`` it cannot pass yet: an ACL entry for it, with
    search permission alone."""
    account = pwd.getpwnam(user)
    for folder in path.parents:
        if _can_traverse(folder, account.pw_uid, account.pw_gid):
            continue
        entries = [entry for entry in _entries(folder)
                   if entry[0] != _MASK and not (entry[0] == _USER and entry[2] == account.pw_uid)]
        entries.append((_USER, _EXECUTE, account.pw_uid))
        # The mask bounds the group and the named entries: it keeps what they had, and lets the new one through.
        mask = _EXECUTE
        for tag, permissions, _ in entries:
            if tag in (_USER, _GROUP_OBJ, _GROUP):
                mask |= permissions
        entries.append((_MASK, mask, _NO_ID))
        entries.sort(key=lambda entry: (entry[0], entry[2]))
        os.setxattr(folder, _ACL_XATTR, struct.pack("<I", _ACL_VERSION)
                    + b"".join(struct.pack("<HHI", *entry) for entry in entries))


def keep_private(folder: Path) -> None:
    """The folder made, or kept, its owner's alone (0700); an ACL entry let_traverse added stays in force."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(folder.stat().st_mode)
    # With an ACL, chmod's group bits set the mask: keep them, or the named entries lose what they were given.
    group = mode & 0o070 if _stored_entries(folder) else 0
    if mode != 0o700 | group:
        folder.chmod(0o700 | group)
