"""The real ``tritonserver`` binary, taken from the ``nvidia-pytriton`` wheel without installing it.

The wheel carries Triton 2.51 (the 24.10 release) with the python backend and a backend stub per
Python version. Installing the wheel as a package would pin numpy<2 on the project, so only the
binary, its bundled libraries and the python backend are unpacked into the cache.

The python-backend models run in an environment of their own (``model_env/``: the packages of
``requirements-cpu.txt`` and the models' shared code, ``vidsafe_model_host``), as they would in the Triton
container: the 24.10 stub's pybind11 predates numpy 2 and returns empty
output tensors from numpy 2 arrays, while the gateway and workers use numpy 2.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vidsafe.packages import fetch_wheel
from vidsafe.settings import MODEL_ENV_DIR, Settings
from vidsafe.triton import restricted_api_flags

PYTRITON_VERSION = "0.7.0"
PYTRITON_WHEEL_SHA256 = "21f063ff93bb426d0c06b7a55e7eb9efcfe62c0dddd9a908e9877e18710128df"
TRITON_VERSION = "2.51.0"
INT8_MODELS_ENV = "VIDSAFE_INT8_MODELS"  # read by vidsafe_model_host/sessions.py


@contextmanager
def cache_lock(settings: Settings, name: str) -> Iterator[None]:
    """Serialize the preparation of one cache entry between processes (two stacks starting at once)."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    with (settings.cache_dir / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class TritonInstall:
    binary: Path
    backend_dir: Path
    libs_dir: Path


def _unpack(settings: Settings, root: Path) -> None:
    wheel = fetch_wheel("nvidia-pytriton", PYTRITON_VERSION, PYTRITON_WHEEL_SHA256, settings.cache_dir)
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.filename.startswith(("pytriton/tritonserver/", "nvidia_pytriton.libs/")):
                extracted = Path(archive.extract(info, partial))
                # zipfile drops the executable bits; the wheel's unix mode is in external_attr.
                extracted.chmod((info.external_attr >> 16) or 0o644)
    partial.rename(root)


def ensure_tritonserver(settings: Settings) -> TritonInstall:
    """Unpack tritonserver once into the cache and prepare the python backend for this interpreter."""
    root = settings.cache_dir / f"tritonserver-{TRITON_VERSION}"
    binary = root / "pytriton" / "tritonserver" / "bin" / "tritonserver"
    with cache_lock(settings, root.name):
        if not binary.exists():
            _unpack(settings, root)

    server = root / "pytriton" / "tritonserver"
    python_tag = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = server / "python_backend_stubs" / python_tag / "triton_python_backend_stub"
    if not stub.exists():
        raise RuntimeError(f"tritonserver {TRITON_VERSION} has no python backend stub for Python {python_tag}")
    # The backend directory must hold the backend library, its utils module and the stub together.
    backend_dir = root / f"backends-py{python_tag}"
    python_dir = backend_dir / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    for source in (server / "backends" / "python" / "libtriton_python.so",
                   server / "backends" / "python" / "triton_python_backend_utils.py", stub):
        link = python_dir / source.name
        if not link.is_symlink():
            link.symlink_to(source)
    return TritonInstall(binary=binary, backend_dir=backend_dir, libs_dir=root / "nvidia_pytriton.libs")


def _model_env_sources() -> list[Path]:
    """What the model env is built from: its requirements and the shared package's files."""
    return sorted([MODEL_ENV_DIR / "requirements-cpu.txt", MODEL_ENV_DIR / "pyproject.toml",
                   *(MODEL_ENV_DIR / "vidsafe_model_host").glob("*.py")])


def cached_venv(settings: Settings, name: str, installs: list[list[str]]) -> Path:
    """A venv in the cache under ``name``, built once, each of ``installs`` one pip install's arguments; returns its
    bin folder. Built in place (a venv is not relocatable); the marker is written last, so an interrupted build is
    redone from scratch."""
    env_dir = settings.cache_dir / name
    with cache_lock(settings, name):
        marker = env_dir / "installed"
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(env_dir)], check=True)
            pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            for arguments in installs:
                subprocess.run([*pip, *arguments], check=True)
            marker.touch()
    return env_dir / "bin"


def ensure_model_env(settings: Settings) -> Path:
    """Create the venv the python-backend stub runs models in (once per version of what it is built from, in
    the cache, so every stack and clone on the machine shares it); returns its bin folder."""
    digest = hashlib.sha256()
    for source in _model_env_sources():
        digest.update(source.relative_to(MODEL_ENV_DIR).as_posix().encode() + b"\0" + source.read_bytes())
    name = f"model-env-py{sys.version_info.major}.{sys.version_info.minor}-{digest.hexdigest()[:12]}"
    # The package from a copy: building it in place would leave build/ and egg-info/ in the source tree.
    with tempfile.TemporaryDirectory() as scratch:
        source = shutil.copytree(MODEL_ENV_DIR, Path(scratch) / "model_env")
        return cached_venv(settings, name, [["-r", str(MODEL_ENV_DIR / "requirements-cpu.txt")],
                                            ["--no-deps", str(source)]])


def tritonserver_command(settings: Settings, install: TritonInstall, models: list[str]) -> list[str]:
    """Serve exactly ``models`` (explicit model control): a half-exported or disabled model elsewhere
    in the repository cannot stop the server from starting."""
    return [
        str(install.binary),
        f"--model-repository={settings.model_repository}",
        f"--backend-directory={install.backend_dir}",
        f"--grpc-address={settings.triton_host}",
        f"--grpc-port={settings.triton_grpc_port}",
        f"--http-address={settings.triton_host}",
        f"--http-port={settings.triton_http_port}",
        f"--metrics-address={settings.triton_host}",
        f"--metrics-port={settings.triton_metrics_port}",
        "--allow-gpu-metrics=false",
        "--pinned-memory-pool-byte-size=0",
        "--disable-auto-complete-config",
        "--exit-on-error=true",
        "--log-verbose=0",
        "--model-control-mode=explicit",
        *restricted_api_flags(settings.effective_triton_admin_key),
        *(f"--load-model={model}" for model in models),
    ]


def tritonserver_env(model_env_bin: Path, int8_models: list[str]) -> dict[str, str]:
    """Environment for the python backend stub: it finds its interpreter through ``python3`` on PATH
    (so the model env's bin goes first) and must link this interpreter's libpython, not the distro's; the
    models that open their int8 copy (vidsafe_model_host/sessions.py) are named in it."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env[INT8_MODELS_ENV] = ",".join(int8_models)
    env["PATH"] = f"{model_env_bin}{os.pathsep}{env.get('PATH', '')}"
    libdir = sysconfig.get_config_var("LIBDIR")
    env["LD_LIBRARY_PATH"] = f"{libdir}{os.pathsep}{env.get('LD_LIBRARY_PATH', '')}".rstrip(os.pathsep)
    return env
