"""A module added in exactly the four places ARCHITECTURE.md's "Adding a module" names (its model folder, its
export, its stage, its catalogue entry: tests/stack/toy_module/) is a module of vidsafe everywhere: the Module enum,
the settings' defaults, the frame stages, the review UI's colour and timeline, the model list, what a job runs,
the export, a Triton serving it, and its stage's findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.support import isolated_settings, state_root
from vidsafe.catalogue import SHIPPED_CATALOGUE
from vidsafe.deploy import stack

TOY = Path(__file__).with_name("toy_module")


def test_a_module_added_in_four_places_is_one_everywhere(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.toml"
    catalogue.write_text(SHIPPED_CATALOGUE.read_text() + "\n" + (TOY / "catalogue_entry.toml").read_text())
    repository = tmp_path / "model_repository"
    shutil.copytree(TOY / "model_repository", repository)
    with state_root("toy") as root:
        settings = isolated_settings(root / "state", model_repository=repository, served_modules=["brightness"])
        # The settings made here, and nothing else: the toy's defaults come from the catalogue, in the child.
        made = {name: value for name, value in settings.to_env().items()
                if name.removeprefix("VIDSAFE_").lower() in settings.model_fields_set}
        env = {**os.environ, **made, "VIDSAFE_CATALOGUE": str(catalogue), "PYTHONPATH": str(TOY)}
        ran = subprocess.run([sys.executable, str(TOY / "run_toy.py")], env=env, capture_output=True, text=True,
                             timeout=300)
        assert ran.returncode == 0, ran.stderr[-3000:]
        assert not stack.stack_processes(settings), "the toy's Triton was stopped"
    seen = json.loads(ran.stdout.splitlines()[-1])
    assert seen["modules"][-1] == "brightness" and "nudity" in seen["modules"]
    assert seen["stage"] == "BrightnessStage"
    assert (seen["min_score"], seen["carry_over_change"], seen["severity"]) == (0.3, 5.0, 0.2)
    assert seen["box_colour"] == [0x12, 0x34, 0x56], "the UI draws the entry's colour"
    assert seen["timeline"] == "brightness:bright", "a line per label, as the entry says"
    assert "brightness" in seen["frame_models"] and seen["available"] == [True] and seen["a_job_runs_it"]
    assert seen["exported"] == ["brightness/1/levels.json"] and (repository / "brightness/1/levels.json").exists()
    # Black, 20% grey and white frames: only white reaches the module's min score (0.3).
    assert seen["findings"] == [[2, "bright", 1.0]]
