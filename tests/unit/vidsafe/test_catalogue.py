"""The module catalogue (vidsafe/catalogue.toml): every module declared once, and what is derived from it."""

from __future__ import annotations

import tomllib

from vidsafe.catalogue import (
    CATALOGUE_PATH,
    Module,
    ModuleKind,
    default_carry_over_change,
    default_min_scores,
    entries_of,
    entry,
    load_catalogue,
    rule_inputs,
)
from vidsafe.domain.findings import Finding
from vidsafe.policy import default_policy, default_severities
from vidsafe.settings import Settings


def test_the_modules_are_the_catalogues_entries_in_its_order() -> None:
    declared = list(tomllib.loads(CATALOGUE_PATH.read_text())["modules"])
    assert [str(m) for m in Module] == declared == [str(m) for m in load_catalogue()]
    assert Module("nudity") is Module.nudity and Module.nudity == "nudity"


def test_each_kind_has_what_it_needs_to_run() -> None:
    for declared in entries_of(ModuleKind.frame):
        assert declared.stage and "frames" in declared.calls, declared.module
        assert declared.min_score is not None and declared.carry_over_change is not None, declared.module
        assert declared.colour_rgb is not None, f"{declared.module}: boxes on thumbnails need a colour"
    for declared in entries_of(ModuleKind.audio) + entries_of(ModuleKind.rule) + entries_of(ModuleKind.text):
        assert declared.stage, declared.module
    for declared in entries_of(ModuleKind.text):
        assert declared.reads, f"{declared.module}: a text module judges what the modules it reads found"
    for declared in entries_of(ModuleKind.decoded):
        assert declared.stage is None and not declared.triton_models, "made while decoding, from no model"
    for declared in entries_of(ModuleKind.rule):
        assert set(declared.needs) <= set(declared.reads) or not declared.reads, declared.module
    for declared in load_catalogue().values():
        assert set(declared.calls.values()) <= set(declared.triton_models), declared.module


def test_the_settings_defaults_are_the_catalogues_and_the_policys() -> None:
    settings = Settings()
    assert settings.min_scores == default_min_scores() and settings.min_scores["restraint"] == 0.5
    assert settings.carry_over_change == default_carry_over_change()
    assert set(settings.carry_over_change) == {str(e.module) for e in entries_of(ModuleKind.frame)}
    assert settings.risk_severities == default_severities()
    assert settings.risk_severities["nudity:FEMALE_GENITALIA_EXPOSED"] == 1.0  # the entry's label severity
    assert settings.risk_severities["restraint"] == 0.9 and settings.risk_severities["clip:gore"] == 0.9
    assert settings.clip_categories == default_policy().clip_categories
    assert settings.clip_neutral_category == "neutral" and "neutral" not in default_policy().clip_severities


def test_the_rules_read_faces_and_what_each_rule_and_text_module_reads() -> None:
    assert entry(Module.restraint).needs == (Module.pose,)
    assert entry(Module.text).needs == (Module.text_embeddings,), "it embeds texts with the text embedder"
    assert set(rule_inputs()) == {Module.faces, Module.pose, Module.clip, Module.ocr, Module.speech}


def test_an_index_entry_is_no_finding() -> None:
    frame = Finding(module=Module.clip, label="frame", score=1.0, timestamp_s=0.0, frame_index=0)
    weapon = frame.model_copy(update={"label": "weapon"})
    assert frame.is_index_entry and not weapon.is_index_entry
    assert not Finding(module=Module.ocr, label="frame", score=1.0, timestamp_s=0.0).is_index_entry
