"""What a stage is (workers/stages.py): each module's stage class is the one its catalogue entry names."""

from __future__ import annotations

import pytest

from vidsafe.catalogue import ModuleKind, entries_of
from vidsafe.workers.stages import AudioStage, FrameStage, RuleStage, stage_classes

BASES = {ModuleKind.frame: FrameStage, ModuleKind.audio: AudioStage, ModuleKind.rule: RuleStage}


@pytest.mark.parametrize("kind", list(BASES))
def test_every_module_of_a_kind_has_a_stage_of_that_kind(kind: ModuleKind) -> None:
    classes = stage_classes(kind, BASES[kind])
    assert list(classes) == [e.module for e in entries_of(kind)]
    assert all(cls.module == module for module, cls in classes.items())


def test_a_stage_of_another_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="is not a RuleStage"):
        stage_classes(ModuleKind.frame, RuleStage)
