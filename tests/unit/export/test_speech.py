"""The speech module's variants (Whisper tiny.en or base): what the export writes, and a stack refusing the other's
files."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from faster_whisper import WhisperModel

from tests.helpers.speech import SENTENCES, words
from vidsafe.catalogue import Module, load_catalogue
from vidsafe.export.models import export_models
from vidsafe.serving import expected_sha256, other_variant_files
from vidsafe.settings import Settings


def test_the_speech_model_setting_offers_the_catalogues_variants_and_each_writes_the_same_files() -> None:
    entry = load_catalogue()[Module.speech]
    assert entry.variant_setting == "speech_model"
    assert set(get_args(Settings.model_fields["speech_model"].annotation)) == set(entry.variants) == {"tiny.en", "base"}
    assert Settings().speech_model == "tiny.en"
    targets = {variant: set(expected_sha256(entry, Settings(speech_model=variant))) for variant in entry.variants}
    assert targets["tiny.en"] == targets["base"] == set(entry.served_files)


def test_the_stack_refuses_the_other_variants_files() -> None:
    from vidsafe.deploy.services import StackError, _prepare_triton

    entry = load_catalogue()[Module.speech]
    assert other_variant_files(entry, Settings()) == []  # the repository holds tiny.en's, the default
    stale = other_variant_files(entry, Settings(speech_model="base"))
    assert sorted(stale) == sorted(f"speech_to_text/1/whisper/{name}"
                                   for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"))
    with pytest.raises(StackError, match=r"speech_model = 'base'.*vidsafe export speech"):
        _prepare_triton(Settings(speech_model="base", served_modules=["speech"]))


def test_whisper_base_is_joined_from_its_two_wheels_and_hears_a_sentence(tmp_path: Path, speech_video) -> None:
    settings = Settings(model_repository=tmp_path, speech_model="base")
    export_models(settings, ["speech"])
    entry = load_catalogue()[Module.speech]
    assert other_variant_files(entry, settings) == []
    model = WhisperModel(str(tmp_path / "speech_to_text/1/whisper"), device="cpu", compute_type="int8")
    assert model.model.is_multilingual
    segments, _ = model.transcribe(str(speech_video[0]), beam_size=5, vad_filter=True, language="en")
    assert words(" ".join(segment.text for segment in segments)) == [w for s in SENTENCES for w in words(s)]
