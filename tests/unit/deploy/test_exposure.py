"""What each deployed service is given and who may reach it (issue 25): each Compose service and each Kubernetes
workload gets only the secrets it uses, Triton is reachable only from the services that call it, and its admin
APIs are closed everywhere it runs."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.helpers.deploy import DEPLOY, by_kind, compose, render
from vidsafe.triton import ADMIN_HEADER, RESTRICTED_APIS

SECRETS = {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "TRITON_ADMIN_KEY", "VIDSAFE_SUMMARY_API_KEY"}
STORES = {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}
COMPOSE_SECRETS = {
    "postgres": {"POSTGRES_PASSWORD"}, "redis": {"REDIS_PASSWORD"},
    "triton": {"TRITON_ADMIN_KEY"}, "triton-gpu": {"TRITON_ADMIN_KEY"},
    "gateway": STORES, "maintenance": STORES, "worker": STORES | {"VIDSAFE_SUMMARY_API_KEY"},
    "ui": set(), "prometheus": set(),
}
K8S_SECRETS = {"vidsafe-gateway": {"DATABASE_URL", "REDIS_URL"}, "vidsafe-maintenance": {"DATABASE_URL", "REDIS_URL"},
               "vidsafe-worker": {"DATABASE_URL", "REDIS_URL", "VIDSAFE_SUMMARY_API_KEY"},
               "vidsafe-ui": set(), "vidsafe-triton": set()}


def _secrets_named(service: dict[str, Any]) -> set[str]:
    """The secrets a service's definition (anchors merged) interpolates anywhere in it."""
    text = yaml.safe_dump(service)
    return {name for name in SECRETS if re.search(rf"\$\{{{name}\b", text)}


def test_each_compose_service_gets_only_the_secrets_it_uses() -> None:
    services = compose()["services"]
    assert {name: _secrets_named(service) for name, service in services.items()} == COMPOSE_SECRETS
    # .env is Compose's own: no container is given the whole file.
    given_files = {str(entry["path"] if isinstance(entry, dict) else entry)
                   for service in services.values() for entry in service.get("env_file", [])}
    assert given_files <= {"settings.env"}


def test_each_workload_gets_only_the_secrets_it_uses() -> None:
    deployments = by_kind(render("k8s/overlays/gpu"), "Deployment")
    for name, expected in K8S_SECRETS.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert not any("secretRef" in source for source in container.get("envFrom", [])), name
        keys = {variable["valueFrom"]["secretKeyRef"]["key"] for variable in container.get("env", [])
                if "secretKeyRef" in variable.get("valueFrom", {})}
        assert keys == expected, name


def test_only_the_workers_and_the_gateway_reach_triton_and_the_stores() -> None:
    policies = by_kind(render("k8s/overlays/cpu"), "NetworkPolicy")
    triton = policies["vidsafe-triton"]["spec"]
    assert triton["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "vidsafe-triton"}
    callers, metrics = triton["ingress"]
    allowed = callers["from"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert set(allowed) == {"vidsafe-worker", "vidsafe-gateway"}
    assert {port["port"] for port in callers["ports"]} == {"grpc", "http"}
    assert "from" not in metrics and metrics["ports"] == [{"port": "metrics"}]
    stores = policies["vidsafe-stores"]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]
    assert set(stores["values"]) == {"vidsafe-gateway", "vidsafe-worker", "vidsafe-maintenance"}


def test_the_gpu_tritons_admin_apis_are_closed_as_the_launchers_are() -> None:
    script = (DEPLOY / "gpu" / "triton.sh").read_text()
    restricted = re.search(r'restricted="([^:]+):([^=]+)=', script)
    assert restricted and tuple(restricted[1].split(",")) == RESTRICTED_APIS and restricted[2] == ADMIN_HEADER
    assert '--http-restricted-api="${restricted}"' in script and '--grpc-restricted-protocol="${restricted}"' in script
    assert 'CMD ["vidsafe-triton-gpu"]' in (DEPLOY / "Dockerfile").read_text()
