"""export/quantize.py: the detectors' int8 copies, made once, and required by a stack that serves them."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest

from tests.helpers.int8 import NETWORK
from tests.helpers.model_configs import REPOSITORY
from vidsafe.catalogue import INT8_FILE, Module, entry
from vidsafe.deploy import services
from vidsafe.export.quantize import FP32_HEADS, downstream, quantize_detectors
from vidsafe.serving import files_served
from vidsafe.settings import Settings


@pytest.fixture(scope="module")
def quantized_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("repository")
    (repository / NETWORK / "1").mkdir(parents=True)
    shutil.copy(REPOSITORY / NETWORK / "1" / "model.onnx", repository / NETWORK / "1" / "model.onnx")
    quantize_detectors(entry(Module.nudity), Settings(model_repository=repository, detector_precision="int8"))
    return repository


def test_export_quantizes_the_body_and_keeps_the_head_fp32(quantized_repository: Path) -> None:
    model = onnx.load(quantized_repository / NETWORK / "1" / INT8_FILE)
    quantized = {name for node in model.graph.node if node.op_type == "DequantizeLinear" for name in node.output}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    head = set(downstream(model.graph, FP32_HEADS[NETWORK]))
    assert all(node.input[1] in quantized for node in convs if node.name not in head)  # int8 weights
    assert not any(node.input[1] in quantized for node in convs if node.name in head)
    assert 0 < len(head) < len(model.graph.node)


def test_quantized_copy_is_not_made_again_and_not_at_all_for_fp32(quantized_repository: Path, tmp_path: Path) -> None:
    int8 = quantized_repository / NETWORK / "1" / INT8_FILE
    before = int8.stat().st_mtime_ns
    settings = Settings(model_repository=quantized_repository, detector_precision="int8")
    assert quantize_detectors(entry(Module.nudity), settings) == [int8]
    assert int8.stat().st_mtime_ns == before
    assert quantize_detectors(entry(Module.nudity), Settings(model_repository=tmp_path)) == []


def test_stack_refuses_int8_without_the_quantized_copies(tmp_path: Path) -> None:
    for path in (*entry(Module.nudity).served_files, *entry(Module.ocr).served_files):  # the fp32 files only
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    settings = Settings(model_repository=tmp_path, served_modules=["nudity", "ocr"], detector_precision="int8")
    assert {f"{NETWORK}/1/{INT8_FILE}", f"ocr_det/1/{INT8_FILE}"} <= set(
        path for name in (Module.nudity, Module.ocr) for path in files_served(entry(name), settings))
    with pytest.raises(services.StackError, match=rf"{NETWORK}/1/{INT8_FILE}.*ocr_det/1/{INT8_FILE}"):
        services._prepare_triton(settings)
