"""Settings: what a job analyses and how (sampling, shots, thresholds, known content, restraint), and which models
are served (variants, CLIP)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from vidsafe.catalogue import default_carry_over_change, default_min_scores
from vidsafe.policy import default_policy


class AnalysisSettings(BaseModel):
    # Analysis
    sample_fps: float = Field(default=2.0, gt=0, le=30, description="Frames sampled per second of video.")
    min_coverage: float = Field(
        default=0.95, ge=0, le=1,
        description="Share of a video's duration that must be decoded and analysed; a job below it ends with "
        "the warning partial_coverage (or fails, with low_coverage_fails).",
    )
    low_coverage_fails: bool = Field(
        default=False, description="A job below min_coverage fails (code partial_coverage) instead of succeeding "
        "with a warning.",
    )
    infer_batch_frames: int = Field(default=8, ge=1, le=64, description="Frames sent in one Triton request.")
    infer_in_flight: int = Field(
        default=4, ge=1, le=64, description="Triton requests one job keeps in flight on its gRPC channel."
    )
    triton_shared_memory: bool = Field(
        default=True,
        description="Frames reach Triton through system shared memory (/dev/shm), written once per batch and read "
        "by every module, instead of one gRPC copy per module. Needs Triton on the same host (or container IPC "
        "namespace); where it cannot register the memory, or /dev/shm is too small, frames go over gRPC (logged).",
    )
    video_decoder: Literal["cpu", "nvdec"] = Field(
        default="cpu",
        description="Where workers decode video: cpu (FFmpeg's software decoders), or nvdec (the GPU's video decoder "
        "through FFmpeg's CUDA hwaccel, for workers on GPU hosts; codecs it cannot take are decoded in software). A "
        "worker that cannot open NVDEC decodes on the CPU, logs it, and counts it in vidsafe_decoder_fallbacks_total.",
    )
    triton_timeout_s: float = Field(default=60.0, gt=0, description="Deadline of one Triton request.")

    # Shots and adaptive sampling (vidsafe/media/cuts.py, workers/stages.py)
    shot_threshold: float = Field(
        default=27.0, gt=0, le=255,
        description="Colour change (PySceneDetect ContentDetector's score, 0-255) from one decoded frame to the "
        "next at which a new shot starts; ContentDetector's default is 27.",
    )
    shot_min_s: float = Field(default=0.5, ge=0, description="Shortest shot split off; a cut sooner is ignored.")
    carry_over_change: dict[str, float] = Field(
        default_factory=default_carry_over_change,
        description="Per frame module (JSON object): how much a sampled frame must have changed since the module "
        "last ran for it to run again (the largest mean brightness change, 0-255, of a 6 x 8 grid's cells, the "
        "camera's pan undone); frames below carry the last results over, marked carried_from. 0: every frame; a "
        "module left out keeps its catalogue default. Every shot's first frame is always analysed.",
    )
    carry_over_max_s: float = Field(
        default=2.0, gt=0, description="A module runs again at least this often within a shot, however still it is."
    )
    default_modules: list[str] | None = Field(
        default=None,
        description="Analyses a job runs unless it names its own (JSON list). Unset: every module whose "
        "models are served.",
    )
    min_scores: dict[str, float] = Field(
        default_factory=default_min_scores,
        description="Per-module score threshold below which findings are not stored (JSON object); a module left "
        "out keeps its catalogue default, a job's options override it.",
    )

    face_identity_min_cosine: float = Field(
        default=0.363, ge=-1, le=1,
        description="Cosine similarity at which two faces of one job count as the same person (SFace's own "
        "match threshold is 0.363).",
    )

    # Known-content matching (workers/known_content.py)
    pdq_match_distance: int = Field(
        default=31, ge=0, le=128,
        description="Largest Hamming distance (of 256 bits) at which two PDQ hashes match: a frame and a listed "
        "picture, or a frame and a listed video's frame. 31 is ThreatExchange's and HMA's confident-match threshold.",
    )
    pdq_min_quality: int = Field(
        default=50, ge=0, le=100,
        description="PDQ quality (0-100) below which a frame or a listed frame takes no part in matching: flat, "
        "featureless pictures (black frames, fades) hash alike. 50 is vPDQ's own.",
    )
    vpdq_match_percent: float = Field(
        default=80.0, gt=0, le=100,
        description="A job matches a listed video (vPDQ) when this share of its distinct frames is in the video, "
        "or this share of the video's frames is in the job (a known video within a longer upload). 80 is "
        "ThreatExchange's query-match threshold.",
    )

    # Restraint (a rule over pose and CLIP findings: workers/restraint.py)
    restraint_cue_weights: dict[str, float] = Field(
        default_factory=lambda: {"wrists_together": 0.7, "arms_above_head": 0.6, "arms_behind_back": 0.5},
        description="Risk each pose cue gives a frame on its own (JSON object). arms_behind_back reads the "
        "pose model's roughest output (depth) and weighs least.",
    )
    restraint_min_duration_s: float = Field(
        default=1.0, ge=0, description="How long a restraint cue must be held before it becomes a finding."
    )

    # Model variants: what `vidsafe export` writes and Triton serves
    detector_precision: Literal["fp32", "int8"] = Field(
        default="fp32",
        description="int8: the detector networks (nudity_detector, face_detector, ocr_det) run statically "
        "quantized copies on the cpu profile, calibrated by `vidsafe export` on the bundled sample; faster where "
        "the CPU has int8 dot products (VNNI), at the accuracy cost measured in benchmarks/results/int8.md. Run "
        "`vidsafe export` after changing it.",
    )
    speech_model: Literal["tiny.en", "base"] = Field(
        default="tiny.en",
        description="The Whisper that `vidsafe export speech` writes for the speech module: tiny.en (75 MB, "
        "faster) or base (145 MB, multilingual, fewer misheard words: benchmarks/results/speech.md). Run "
        "`vidsafe export speech` after changing it; the stack refuses to start on the other one's files.",
    )

    # CLIP (zero-shot categories and visual similarity)
    clip_checkpoint: Path | None = Field(
        default=None,
        description="CLIP checkpoint (ViT) that `vidsafe export clip` converts to ONNX: a Hugging Face CLIP folder "
        "(config.json, model.safetensors), an open_clip folder (open_clip_config.json and its weights) or weights "
        "file, or OpenAI's .pt. No CLIP weights ship with vidsafe. Unset: CLIP is not served.",
    )
    clip_quick_gelu: bool | None = Field(
        default=None,
        description="Activation of an OpenAI-layout (open_clip) checkpoint: true for OpenAI's weights and "
        "open_clip's -quickgelu models, false for other open_clip models. Unset: open_clip_config.json beside "
        "the weights decides, else true (OpenAI's).",
    )
    clip_categories: dict[str, list[str]] = Field(
        default_factory=lambda: default_policy().clip_categories,
        description="Zero-shot categories of the clip module (JSON object: category -> prompts). A frame's "
        "probabilities are a softmax, at the checkpoint's logit scale, over its similarity to each category's "
        "mean prompt embedding.",
    )
    clip_neutral_category: str | None = Field(
        default=default_policy().clip_neutral_category,
        description="The category of clip_categories that stands for harmless content: it takes part in the "
        "softmax, so ordinary frames do not score high elsewhere, but yields no findings.",
    )
