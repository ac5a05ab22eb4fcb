"""What an image build sees (issue 25): the build context of deploy/Dockerfile (the repository root, less what
.dockerignore excludes, computed with docker-py's implementation of Docker's own rules) holds no secret, state,
cache or build output, wherever an operator may have left one, and still holds all the Dockerfile copies."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parents[3]
DOCKERIGNORE = ROOT / ".dockerignore"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

# What an operator's or a developer's checkout may hold beside the code: none of it may reach an image.
NEVER_BUILT_IN = [
    "deploy/compose/.env", "deploy/compose/settings.env", "deploy/k8s/overlays/prod/secrets.env", ".env.local",
    "deploy/k8s/secrets/webhook", "deploy/tls/gateway.key", "deploy/tls/gateway.pem", ".netrc",
    ".git/config", ".vidsafe/state/postgres.password", ".venv/bin/python", "vidsafe/__pycache__/cli.cpython-311.pyc",
    ".pytest_cache/v/cache/nodeids", ".ruff_cache/CACHEDIR.TAG", ".hypothesis/examples/x", "vidsafe.egg-info/PKG-INFO",
    "test-artifacts/browser/trace.zip", "tests/unit/test_docs.py", "model_repository/nudity_detector/1/model.onnx",
]


def _patterns() -> list[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _context(root: Path) -> set[str]:
    return set(exclude_paths(str(root), _patterns(), dockerfile="deploy/Dockerfile"))


def _copied_sources() -> list[str]:
    """What the Dockerfile copies from the context (not from another stage)."""
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources += [word for word in line.split()[1:-1] if not word.startswith("--")]
    return sources


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the repository's tracked files (the .dockerignore among them), plus everything in
    NEVER_BUILT_IN and a model's exported weights beside its code."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, tmp_path / name)
    for secret in NEVER_BUILT_IN:
        (tmp_path / secret).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / secret).write_text("not for an image\n")
    return tmp_path


def test_nothing_an_operator_leaves_in_the_checkout_reaches_an_image(checkout: Path) -> None:
    context = _context(checkout)
    leaked = sorted(path for path in NEVER_BUILT_IN if path in context)
    assert not leaked, f"the build context holds {leaked}"
    assert "model_repository/nudity_postprocess/1/model.py" in context, "a model's code is part of the app"
    assert "deploy/services.py" in context


def test_the_context_holds_everything_the_dockerfile_copies(checkout: Path) -> None:
    context = _context(checkout)
    missing = [source for source in _copied_sources() if source.rstrip("/") not in context]
    assert not missing, f"the Dockerfile copies what the context leaves out: {missing}"


def test_this_checkouts_own_context_holds_no_secret_or_state() -> None:
    """The context this very checkout would send: no file that looks like a secret, state or cache."""
    suspicious = re.compile(r"(^|/)(\.env(\..*)?|[^/]*\.(env|pem|key)|\.git|\.vidsafe|\.venv|__pycache__)(/|$)")
    found = sorted(path for path in _context(ROOT) if suspicious.search(path))
    assert not found, f"the build context holds {found[:20]}"
