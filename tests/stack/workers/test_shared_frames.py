"""workers/shared_frames.py: frames written once into shared memory registered with Triton, read by every frame
stage; nothing left behind, in /dev/shm or in Triton, by a chunk or by a process that died."""

from __future__ import annotations

import os
import subprocess
from multiprocessing import resource_tracker, shared_memory
from pathlib import Path

import httpx

from tests.helpers.support import run_job
from vidsafe.catalogue import ModuleKind
from vidsafe.domain.findings import Finding
from vidsafe.media.cuts import CutDetector
from vidsafe.media.decoding import sample_frames
from vidsafe.serving import available_modules, served_entries
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.shared_frames import HOST, PREFIX, SHM_DIR, SharedFrames, remove_dead_regions
from vidsafe.workers.stages import FrameStage, stage_classes

SCORE_TOLERANCE = 1e-4  # the same bytes, batched by Triton in other groups: ONNX Runtime's batch-size jitter


def frame_regions(triton: TritonClient) -> tuple[list[str], list[str]]:
    """This host's frame regions: those in /dev/shm, and those registered with Triton."""
    return (sorted(p.name for p in SHM_DIR.glob(f"{PREFIX}_{HOST}_*")),
            sorted(name for name in triton.shared_memory_regions() if name.startswith(f"{PREFIX}_{HOST}_")))


def identity(finding: Finding) -> tuple:
    return finding.label, finding.frame_index, finding.text or "", finding.attributes.get("carried_from")


def same_findings(ours: list[Finding], theirs: list[Finding]) -> bool:
    """The same findings, their scores within the tolerance."""
    ours, theirs = sorted(ours, key=identity), sorted(theirs, key=identity)
    return [identity(f) for f in ours] == [identity(f) for f in theirs] and all(
        abs(a.score - b.score) <= SCORE_TOLERANCE for a, b in zip(ours, theirs, strict=True))


def test_stages_read_shared_frames_as_they_read_copies(running_stack: Settings, sample_video: Path) -> None:
    settings = running_stack
    cuts = CutDetector(settings.shot_threshold, settings.shot_min_s)
    frames = list(sample_frames(sample_video, 2.0, 640, 360, cuts=cuts))[:settings.infer_batch_frames]
    served = available_modules(served_entries(settings))
    with TritonClient(settings.effective_triton_url) as triton:
        ring = SharedFrames.open(triton, settings, frames[0].rgb.shape)
        assert ring is not None
        try:
            shared = ring.put(frames)
            assert shared is not None
            stretched = 0
            for module, stage_class in stage_classes(ModuleKind.frame, FrameStage).items():
                if module not in served:
                    continue
                copied = stage_class(triton, 0.0, settings).submit(frames)()
                stage = stage_class(triton, 0.0, settings)
                assert same_findings(stage.submit(frames, shared)(), copied), module
                stretched += 0 < stage.frames_run < len(frames)
            assert stretched, "some stage ran on part of the batch: its frames went as several stretches"
        finally:
            ring.close()
        assert frame_regions(triton) == ([], [])


def test_a_job_leaves_no_shared_memory_behind(api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    run_job(api, sample_video)
    with TritonClient(running_stack.effective_triton_url) as triton:
        assert frame_regions(triton) == ([], [])


def test_the_regions_of_a_dead_process_are_removed(running_stack: Settings) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()  # reaped: no process has its pid (until the pids wrap round)
    memories = [shared_memory.SharedMemory(f"{PREFIX}_{HOST}_{pid}_{tag}", create=True, size=4096)
                for pid, tag in ((ended.pid, "dead00"), (os.getpid(), "live00"))]
    dead, live = (m.name for m in memories)
    resource_tracker.unregister(f"/{dead}", "shared_memory")  # the sweep unlinks it, not this process
    with TritonClient(running_stack.effective_triton_url) as triton:
        try:
            for memory in memories:
                triton.register_shared_memory(memory.name, f"/{memory.name}", 4096)
            assert remove_dead_regions(triton) == [dead]
            assert frame_regions(triton) == ([live], [live])
        finally:
            triton.unregister_shared_memory(live)
            memories[1].close()
            memories[1].unlink()
            memories[0].close()
        assert frame_regions(triton) == ([], [])


def test_frames_go_over_grpc_where_shared_memory_is_off(running_stack: Settings) -> None:
    off = running_stack.model_copy(update={"triton_shared_memory": False})
    with TritonClient(running_stack.effective_triton_url) as triton:
        assert SharedFrames.open(triton, off, (360, 640, 3)) is None
        assert frame_regions(triton) == ([], [])
