"""The one settings class of vidsafe: every knob of the gateway, workers, launcher and exporter.

Each field is read from an environment variable named ``VIDSAFE_<FIELD>`` (``DATABASE_URL`` and
``REDIS_URL`` are also accepted bare, as deployment tools usually set them). The README's settings
table is generated from this class (``vidsafe settings``), so the docs cannot drift from the code. Its fields are
declared in groups, one module each (services, jobs, review, analysis); ``Settings`` is all of them at once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidsafe.catalogue import CATALOGUE_PATH
from vidsafe.settings.analysis import AnalysisSettings
from vidsafe.settings.jobs import JobSettings
from vidsafe.settings.review import SUMMARY_DEFAULT_MODELS, ReviewSettings
from vidsafe.settings.services import MODEL_ENV_DIR, PROJECT_ROOT, ServiceSettings

__all__ = ["MODEL_ENV_DIR", "PROJECT_ROOT", "SUMMARY_DEFAULT_MODELS", "Settings", "get_settings"]


# The groups' fields come in the reverse of this order: services, jobs, review, analysis.
class Settings(BaseSettings, AnalysisSettings, ReviewSettings, JobSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VIDSAFE_", extra="ignore", populate_by_name=True)

    @model_validator(mode="after")
    def _catalogue_is_the_loaded_one(self) -> Settings:
        # The catalogue is read once, when vidsafe is imported: a different one now would be a second truth.
        if self.catalogue.resolve() != CATALOGUE_PATH.resolve():
            raise ValueError(f"catalogue: {self.catalogue} is not the catalogue this process loaded "
                             f"({CATALOGUE_PATH}); set VIDSAFE_CATALOGUE before vidsafe starts")
        return self

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that reproduce them in a child process."""
        env = {}
        for name, value in self.model_dump(mode="json").items():
            secret = getattr(self, name)
            if isinstance(secret, SecretStr):  # dumped masked: the child needs the value itself
                value = secret.get_secret_value()
            if value is not None:
                env[f"VIDSAFE_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        return env

    @property
    def effective_backup_dir(self) -> Path:
        return self.backup_dir or self.state_dir / "backups"

    @property
    def effective_job_parts_in_flight(self) -> int:
        return self.job_parts_in_flight or self.worker_concurrency


@lru_cache
def get_settings() -> Settings:
    return Settings()
