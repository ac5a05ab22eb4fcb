"""The text embedder's folder: its configs and the graph the catalogue serves."""

from __future__ import annotations

from tritonclient.grpc import model_config_pb2

from tests.helpers.model_configs import KIND_GPU, assert_served_by, load_profiles
from tests.helpers.text_embedder import MODEL
from vidsafe.catalogue import load_catalogue


def test_configs_take_up_to_64_texts_and_give_384_floats_each() -> None:
    cpu, gpu = load_profiles(MODEL)
    assert cpu.max_batch_size == 64
    assert [(t.name, t.data_type, list(t.dims)) for t in cpu.input] == [("TEXT", model_config_pb2.TYPE_STRING, [1])]
    assert [(t.name, t.data_type, list(t.dims)) for t in cpu.output] == [("EMBEDDINGS", model_config_pb2.TYPE_FP32,
                                                                          [384])]
    assert_served_by(gpu, "python", KIND_GPU)


def test_catalogue_serves_the_converted_graph() -> None:
    entry = load_catalogue()["text_embeddings"]
    assert entry.calls == {"texts": MODEL}
    assert entry.convert == "vidsafe.export.text_embedder:convert"
    assert set(entry.served_files) == {f"{MODEL}/1/model.onnx", f"{MODEL}/1/tokenizer.json"}
