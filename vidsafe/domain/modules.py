"""What a deployment says of each analysis module (the modules themselves are the catalogue's entries)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from vidsafe.catalogue import Module


class ModuleStatus(BaseModel):
    module: Module
    available: bool
    models: list[str] = Field(description="The Triton models that serve it (none for a rule over other modules)")
    how_to_enable: str | None = None
