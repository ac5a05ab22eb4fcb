"""Path convertors: a path segment that matches only the values it may take, so that a route with a parameter there
never shadows a sibling route (``POST /v1/jobs/{id}/decisions`` is not a job action), whatever the order routers are
registered in."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from vidsafe.gateway.services.job_control import Action


class ActionConvertor(Convertor[str]):
    regex = "|".join(Action)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# In paths: {action:job_action}.
JOB_ACTION = "job_action"
register_url_convertor(JOB_ACTION, ActionConvertor())
