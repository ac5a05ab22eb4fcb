"""Frames sent to Triton once: each batch is written into system shared memory registered with Triton, and every
frame stage's request reads it from there, instead of a gRPC copy of the frames per module.

One region per chunk, a ring of ``infer_in_flight + 1`` slots of one batch each: the frame loop keeps at most that
many batches unanswered, so a slot is written again only once every request reading it has been answered. A
region is named after its host and process: the chunk removes its own when it ends, and the next chunk opened on
the host removes those of processes that died (from /dev/shm and from Triton's registrations).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import SharedTensor, TritonClient, TritonError

log = logging.getLogger(__name__)

SHM_DIR = Path("/dev/shm")
PREFIX = "vidsafe_frames"
HOST = re.sub(r"[^A-Za-z0-9]", "", os.uname().nodename)[:32]
_NAME = re.compile(rf"{PREFIX}_{HOST}_(\d+)_[0-9a-f]+")


@dataclass(frozen=True)
class SharedBatch:
    """Where one batch's frames lie in the registered region: frame ``i`` at ``offset + i * frame_bytes``."""

    region: str
    offset: int
    frame_shape: tuple[int, ...]

    def frames(self, start: int, stop: int) -> SharedTensor:
        """The frames ``start`` to ``stop`` (excluded) of the batch, as one IMAGE tensor."""
        frame_bytes = int(np.prod(self.frame_shape))
        return SharedTensor(self.region, self.offset + start * frame_bytes, (stop - start, *self.frame_shape),
                            np.dtype(np.uint8))


class SharedFrames:
    """The ring of batch slots of one chunk (use ``open``)."""

    def __init__(self, triton: TritonClient, memory: shared_memory.SharedMemory, frame_shape: tuple[int, ...],
                 batch_frames: int, slots: int) -> None:
        self.triton, self.memory, self.frame_shape = triton, memory, frame_shape
        self.region = memory.name
        self.slot_bytes = batch_frames * int(np.prod(frame_shape))
        self.batch_frames, self.slots = batch_frames, slots
        self._next = 0

    @classmethod
    def open(cls, triton: TritonClient, settings: Settings, frame_shape: tuple[int, ...]) -> SharedFrames | None:
        """A registered ring for frames of ``frame_shape``; None (frames go over gRPC) where shared memory is off,
        too small, or Triton cannot register it."""
        if not settings.triton_shared_memory:
            return None
        slots = settings.infer_in_flight + 1
        size = slots * settings.infer_batch_frames * int(np.prod(frame_shape))
        remove_dead_regions(triton)
        # tmpfs pages are given on first write: a region larger than what is free would kill the writer (SIGBUS).
        space = os.statvfs(SHM_DIR) if SHM_DIR.is_dir() else None
        free = space.f_bavail * space.f_frsize if space else 0
        if free < 2 * size:
            log.warning("frames go over gRPC: %s has %d MB free, the frame ring needs %d MB", SHM_DIR, free >> 20,
                        size >> 20)
            return None
        memory = shared_memory.SharedMemory(f"{PREFIX}_{HOST}_{os.getpid()}_{uuid.uuid4().hex[:12]}", create=True,
                                            size=size)
        try:
            triton.register_shared_memory(memory.name, f"/{memory.name}", size)
        except TritonError as error:
            log.warning("frames go over gRPC: Triton cannot read this host's shared memory (%s)", error)
            _remove(memory)
            return None
        return cls(triton, memory, frame_shape, settings.infer_batch_frames, slots)

    def put(self, frames: list[SampledFrame]) -> SharedBatch | None:
        """Write a batch into the next slot; None for one that does not fit (frames of another size)."""
        if len(frames) > self.batch_frames or any(f.rgb.shape != self.frame_shape for f in frames):
            return None
        offset = self._next * self.slot_bytes
        self._next = (self._next + 1) % self.slots
        view = np.ndarray((len(frames), *self.frame_shape), np.uint8, self.memory.buf, offset)
        for i, frame in enumerate(frames):
            view[i] = frame.rgb
        del view  # the buffer cannot be closed while a view of it exists
        return SharedBatch(self.region, offset, self.frame_shape)

    def close(self) -> None:
        try:
            self.triton.unregister_shared_memory(self.region)
        except TritonError as error:  # Triton gone: nothing of it to undo; the next chunk's sweep retries
            log.warning("could not unregister %s from Triton: %s", self.region, error)
        _remove(self.memory)


def _remove(memory: shared_memory.SharedMemory) -> None:
    memory.close()
    memory.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_dead_regions(triton: TritonClient) -> list[str]:
    """Unregister from Triton and delete from /dev/shm the frame regions of this host's processes that died."""
    def dead(name: str) -> bool:
        match = _NAME.fullmatch(name)
        return match is not None and not _alive(int(match.group(1)))

    removed = [name for name in triton.shared_memory_regions() if dead(name)]
    for name in removed:
        triton.unregister_shared_memory(name)
    for path in SHM_DIR.glob(f"{PREFIX}_{HOST}_*") if SHM_DIR.is_dir() else ():
        if dead(path.name):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return sorted(set(removed))
