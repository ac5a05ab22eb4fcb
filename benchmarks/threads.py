"""Threads against cores: ONNX Runtime's intra-op threads, Triton's instances per network and Celery's worker
processes, measured on the benchmark video. One run, one results file.

    .venv/bin/python -m benchmarks.threads

Each layout is a stack of its own (the model repository's cpu configs changed in a linked copy, as
``benchmarks/served.py`` does for dynamic batching): after a warm-up job, one job alone, then two jobs at once,
every offline module at 2 fps. Video seconds per wall second of each, on this machine. Writes
``benchmarks/results/threads.md`` (linked from the README), whose table is where the shipped defaults come from.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tritonclient.grpc.model_config_pb2 import ModelConfig

from benchmarks.bench_video import make_bench_video
from benchmarks.e2e import machine, publish, run_vidsafe
from benchmarks.served import repository_variant
from tests.helpers.support import isolated_settings
from vidsafe.deploy import stack
from vidsafe.settings import get_settings

RESULTS = Path(__file__).with_name("results") / "threads.md"


@dataclass(frozen=True)
class Layout:
    intra_op_threads: int
    instances: int  # of every ONNX network's host
    worker_concurrency: int

    def edit(self, config: ModelConfig) -> None:
        if "intra_op_threads" not in config.parameters:  # not an ONNX network's host
            return
        config.parameters["intra_op_threads"].string_value = str(self.intra_op_threads)
        config.instance_group[0].count = self.instances

    def describe(self) -> str:
        shipped = " (shipped)" if self == SHIPPED else ""
        return f"| {self.intra_op_threads} | {self.instances} | {self.worker_concurrency}{shipped} |"


SHIPPED = Layout(1, 2, 1)  # the repository's configs and VIDSAFE_WORKER_CONCURRENCY's default
LAYOUTS = (SHIPPED, Layout(1, 2, 2), Layout(2, 1, 1), Layout(2, 1, 2))


def main() -> None:
    base = get_settings()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vidsafe-threads-") as scratch:
        root = Path(scratch)
        video = make_bench_video(root / "bench.mp4")
        for n, layout in enumerate(LAYOUTS):
            repository = repository_variant(base.model_repository, root / f"repository-{n}", layout.edit)
            settings = isolated_settings(root / f"state-{n}", model_repository=repository,
                                               worker_concurrency=layout.worker_concurrency)
            stack.up(settings)
            try:
                run_vidsafe(settings, video)  # warm-up
                alone = run_vidsafe(settings, video)
                started = time.perf_counter()
                with ThreadPoolExecutor(2) as pool:
                    for job in [pool.submit(run_vidsafe, settings, video) for _ in range(2)]:
                        job.result()
                together = time.perf_counter() - started
            finally:
                stack.down(settings)
            duration = alone["job"].media.duration_s
            rows.append(f"{layout.describe()} {duration / alone['wall_s']:.2f}x | {2 * duration / together:.2f}x |")
            print(rows[-1], flush=True)
    publish(RESULTS, [
        "# Threads, instances and worker processes", "",
        f"Measured by `python -m benchmarks.threads` on {machine()}, {time.strftime('%Y-%m-%d')}, cpu profile: the "
        "60 s benchmark video, every offline module at 2 fps; video seconds per wall second of one job alone and "
        "of two jobs at once. Intra-op threads and instances are those of every ONNX network's host (the nudity, "
        "face and OCR networks, the text embedder, the VAD); the python models around them keep theirs.", "",
        "| intra-op threads | instances per network | Celery worker processes | one job | two jobs at once |",
        "|---|---|---|---|---|", *rows])


if __name__ == "__main__":
    main()
