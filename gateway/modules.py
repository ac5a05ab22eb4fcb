"""The modules resource: which analyses this deployment serves, and how to enable the others."""

from __future__ import annotations

from fastapi import APIRouter

from vidsafe.domain.modules import ModuleStatus
from vidsafe.gateway.dependencies import ReaderDep, SettingsDep
from vidsafe.serving import module_statuses

router = APIRouter(prefix="/v1/modules", tags=["modules"])


@router.get("", response_model=list[ModuleStatus])
def list_modules(settings: SettingsDep, _: ReaderDep) -> list[ModuleStatus]:
    return module_statuses(settings)
