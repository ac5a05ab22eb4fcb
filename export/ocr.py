"""PP-OCRv4's character dictionary, written out of the recognition model for the ``ocr`` model.

rapidocr keeps the dictionary inside ch_PP-OCRv4_rec_infer.onnx (metadata key ``character``) and reads it
with ``str.splitlines()``. The ``ocr`` model decodes the recogniser's CTC output itself (in the gpu profile
ocr_rec runs on Triton's onnxruntime backend, which never shows it the metadata), so the list is stored,
exactly as splitlines() gives it, as a JSON array: no line-splitting rules to get wrong on the way back.
"""

from __future__ import annotations

import json

import onnxruntime as ort

from vidsafe.catalogue import CatalogueEntry
from vidsafe.packages import check_sha256
from vidsafe.settings import Settings

CHARACTERS_TARGET = "ocr/1/characters.json"
CHARACTERS_SHA256 = "38a33dd2f1248709fd769a115956e8b9e8e86b6c9af36d4d9cf0120bdac16311"


def read_characters(model_path: str) -> list[str]:
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    return session.get_modelmeta().custom_metadata_map["character"].splitlines()


def write_characters(entry: CatalogueEntry, settings: Settings) -> None:
    (rec,) = [f for f in entry.files if f.target.startswith("ocr_rec/")]
    characters = read_characters(str(settings.model_repository / rec.target))
    target = settings.model_repository / CHARACTERS_TARGET
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(characters, ensure_ascii=False), encoding="utf-8")
    check_sha256(partial, CHARACTERS_SHA256)
    partial.replace(target)
