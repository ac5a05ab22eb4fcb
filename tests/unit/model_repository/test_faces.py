"""The faces models' folders: the folded fp32 graphs against the quantized ones, the profiles and configs; the
reference's view of the photos."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator
from tritonclient.grpc import model_config_pb2

from tests.helpers.faces import FACES_PARAMETERS, FRAMES, NETWORKS, ORIGINALS
from tests.helpers.model_configs import GPU_PROFILE, KIND_GPU, REPOSITORY, assert_served_by, load_config

# fp32 graph (ONNX Runtime) vs the quantized one (ONNX reference), float32 sums; ONNX Runtime's own spread over
# threads and graph optimisations is at most 2.2e-6 (benchmarks/results/numeric_spread.md)
FOLDING_TOLERANCE = 1e-4


def test_reference_sees_what_the_photos_show(reference) -> None:
    # Guards the parity tests against comparing empty results: faces where there are faces, none elsewhere.
    counts = {name: len(faces) for name, faces in reference.items()}
    assert counts["astronaut"] == counts["astronaut_small"] == counts["large_1600x900"] == 1
    assert counts["mosaic"] >= 3
    assert counts["coffee"] == counts["chelsea"] == counts["noise"] == counts["noise_512"] == 0


def _onnx_input(model: str, image: np.ndarray) -> np.ndarray:
    """What faces feeds each network for ``image``: BGR 0..255 planes (YuNet), an RGB crop (SFace)."""
    if model == "face_detector":
        return np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1)[None], dtype=np.float32)
    return np.ascontiguousarray(cv2.resize(image, (112, 112)).transpose(2, 0, 1)[None], dtype=np.float32)


@pytest.mark.parametrize("model", NETWORKS)
def test_fp32_graph_computes_what_the_quantized_one_does(model: str) -> None:
    folder = REPOSITORY / model / "1"
    original = ReferenceEvaluator(onnx.load(folder / ORIGINALS[model]))
    converted = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    images = [FRAMES["astronaut"], FRAMES["astronaut_mirrored"], FRAMES["noise_512"]]
    inputs = np.concatenate([_onnx_input(model, image) for image in images])
    (name,) = (i.name for i in converted.get_inputs())
    batched = converted.run(None, {name: inputs})  # one batch: the converted graph takes any batch
    for k in range(len(images)):
        expected = original.run(None, {name: inputs[k:k + 1]})
        for got, want in zip(batched, expected, strict=True):
            np.testing.assert_allclose(got[k:k + 1], want, rtol=0, atol=FOLDING_TOLERANCE)


@pytest.mark.parametrize("model", NETWORKS)
def test_fp32_graph_is_plain(model: str) -> None:
    converted = onnx.load(REPOSITORY / model / "1" / "model.onnx")
    onnx.checker.check_model(converted)
    original = onnx.load(REPOSITORY / model / "1" / ORIGINALS[model])
    assert not {node.op_type for node in converted.graph.node} & {"DequantizeLinear", "QuantizeLinear"}
    (image,) = converted.graph.input  # SFace's stale weight inputs are gone
    assert image.name == original.graph.input[0].name
    assert image.type.tensor_type.shape.dim[0].dim_param, "the batch dimension is free"
    assert [o.name for o in converted.graph.output] == [o.name for o in original.graph.output]
    weights = [onnx.numpy_helper.to_array(init) for init in converted.graph.initializer]
    assert {w.dtype.name for w in weights if w.ndim and w.size > 4} == {"float32"}


def test_profiles_pick_the_intended_backends() -> None:
    # The cpu profile runs all three in the python backend, on the CPU (test_configs.py).
    for model in NETWORKS:
        assert_served_by(load_config(model, GPU_PROFILE), "onnxruntime", KIND_GPU, "model.onnx")
    assert load_config("faces", GPU_PROFILE).backend == "python"


def test_faces_fits_the_models_it_calls() -> None:
    faces = load_config("faces")
    detector = load_config("face_detector")
    embedder = load_config("face_embedder")
    # One faces batch of frames is one detector request; faces go to the embedder in its largest batches.
    assert faces.max_batch_size == detector.max_batch_size
    assert int(FACES_PARAMETERS["embedder_batch"]) == embedder.max_batch_size


@pytest.mark.parametrize("model", NETWORKS)
def test_configs_match_the_onnx_graph(model: str) -> None:
    """Triton's onnxruntime backend (gpu profile) checks these against the file; the cpu host relies on them."""
    graph = onnx.load(REPOSITORY / model / "1" / "model.onnx").graph
    config = load_config(model)

    def dims(value: onnx.ValueInfoProto) -> list[int]:
        # The batch dimension is Triton's; symbolic dimensions are -1 in a config.
        return [d.dim_value or -1 for d in value.type.tensor_type.shape.dim[1:]]

    assert [(t.name, list(t.dims)) for t in config.input] == [(v.name, dims(v)) for v in graph.input]
    assert [(t.name, list(t.dims)) for t in config.output] == [(v.name, dims(v)) for v in graph.output]
    assert {t.data_type for t in [*config.input, *config.output]} == {model_config_pb2.TYPE_FP32}
