"""The deployments as the tests read them: where the venv's console scripts are (hadolint, kubectl,
check-jsonschema, vidsafe), the Compose file, and the Kubernetes manifests rendered by kubectl kustomize."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from vidsafe.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def render(kustomization: str) -> list[dict[str, Any]]:
    result = subprocess.run([BIN / "kubectl", "kustomize", DEPLOY / kustomization], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {resource["metadata"]["name"]: resource for resource in resources if resource["kind"] == kind}
