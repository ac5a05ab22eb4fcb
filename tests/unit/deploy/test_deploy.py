"""The production deployments, checked without Docker, a cluster or a cloud: Compose, the Dockerfile, Kustomize, KEDA,
SkyPilot; what `vidsafe serve` refuses."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda import v1alpha1 as keda
from cloudcoil.models.prometheus_operator import v1 as prometheus_operator

from tests.helpers.deploy import BIN, COMPOSE, DEPLOY, by_kind, compose, render
from tests.helpers.support import tool_venv
from vidsafe.deploy import services
from vidsafe.queue import VIDEO_QUEUE, queue_lists
from vidsafe.settings import Settings

KUSTOMIZATIONS = ("k8s/overlays/cpu", "k8s/overlays/gpu", "k8s/ingress", "k8s/monitoring")


SKYPILOT = "skypilot==0.14.1"


def _settings_variables(text: str) -> set[str]:
    return set(re.findall(r"\bVIDSAFE_[A-Z0-9_]+", text))


def _known_variables() -> set[str]:
    return {f"VIDSAFE_{name.upper()}" for name in Settings.model_fields}


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("VIDSAFE_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([BIN / "hadolint", "--failure-threshold", "style", "--no-color", DEPLOY / "Dockerfile"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_each_service_with_vidsafe_serve_and_both_profiles_serve_triton() -> None:
    in_compose = compose()["services"]
    served = {service["command"][1] for service in in_compose.values() if service.get("command", [""])[0] == "serve"}
    assert served == set(services.CONTAINER_SERVICES) - {"triton"}
    tritons = {name: in_compose[name] for name in ("triton", "triton-gpu")}
    assert all(service["networks"]["default"]["aliases"] == ["triton"] for service in tritons.values())
    assert {tuple(service["profiles"]) for service in tritons.values()} == {("cpu",), ("gpu",)}
    assert tritons["triton-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert all(service.get("shm_size") for service in tritons.values())
    # Stores that outlive a container are named volumes; no secret is written in the file.
    assert {"pgdata", "redisdata", "state"} <= set(compose()["volumes"])
    assert "--appendonly" in " ".join(in_compose["redis"]["command"])
    assert "PASSWORD=" not in COMPOSE.read_text()


def test_compose_worker_stops_within_a_lease_and_is_scraped() -> None:
    in_compose = compose()["services"]
    grace_s = int(in_compose["worker"]["stop_grace_period"].removesuffix("s"))
    assert grace_s >= Settings.model_fields["part_lease_s"].default
    scrape = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())["scrape_configs"]
    targets = {job["job_name"]: job for job in scrape}
    assert targets["gateway"]["static_configs"][0]["targets"] == ["gateway:8080"]
    assert targets["worker"]["dns_sd_configs"][0] == {"names": ["worker"], "type": "A", "port": 8090}
    assert targets["triton"]["static_configs"][0]["targets"] == ["triton:8002"]


def test_every_setting_the_deployments_set_is_one_of_the_settings_class(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [COMPOSE, DEPLOY / "compose" / ".env.example", DEPLOY / "compose" / "settings.env.example",
             DEPLOY / "k8s" / "base" / "settings.env",
             DEPLOY / "cloud" / "gpu-workers.yaml", DEPLOY / "Dockerfile"]
    for path in files:
        unknown = _settings_variables(path.read_text()) - _known_variables()
        assert not unknown, f"{path.name} sets what no setting reads: {sorted(unknown)}"
    # The cluster's ConfigMap parses as settings, with the values it says.
    values = dict(line.split("=", 1) for line in (DEPLOY / "k8s" / "base" / "settings.env").read_text().splitlines()
                  if line and not line.startswith("#"))
    settings = _settings_from(values, monkeypatch)
    assert settings.triton_endpoints == ["vidsafe-triton:8001"]
    assert settings.gateway_url == "http://vidsafe-gateway:8080"
    assert not settings.triton_shared_memory


# Custom resources, validated against the schemas of the registry packages generated from KEDA's and the
# Prometheus Operator's CRDs (kubernetes-validate bundles only Kubernetes' own).
CUSTOM_RESOURCES = {
    ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject,
    ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): prometheus_operator.ServiceMonitor,
    ("monitoring.coreos.com/v1", "PodMonitor"): prometheus_operator.PodMonitor,
}


def _strict(schema: Any) -> Any:
    """The schema with unknown properties refused, as `kubectl apply` refuses them (the packages' models allow them)."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)
    return schema


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_rendered_manifest_is_valid(kustomization: str) -> None:
    for resource in render(kustomization):
        key = (resource["apiVersion"], resource["kind"])
        if key in CUSTOM_RESOURCES:
            schema = _strict(CUSTOM_RESOURCES[key].model_json_schema(by_alias=True))
            errors = [error.message for error in jsonschema.Draft202012Validator(schema).iter_errors(resource)]
            assert not errors, f"{key} {resource['metadata']['name']}: {errors}"
        else:
            kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)


def test_strict_schemas_refuse_a_misspelt_field() -> None:
    scaled = by_kind(render("k8s/overlays/cpu"), "ScaledObject")["vidsafe-worker"]
    scaled["spec"]["minReplicas"] = 1
    schema = _strict(keda.ScaledObject.model_json_schema(by_alias=True))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(scaled))
    deployment = by_kind(render("k8s/overlays/cpu"), "Deployment")["vidsafe-gateway"]
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def test_keda_scales_workers_on_every_priority_list_of_the_queue() -> None:
    resources = render("k8s/overlays/cpu")
    scaled = by_kind(resources, "ScaledObject")["vidsafe-worker"]["spec"]
    assert scaled["scaleTargetRef"]["name"] in by_kind(resources, "Deployment")
    lists = {trigger["metadata"]["listName"] for trigger in scaled["triggers"] if trigger["type"] == "redis"}
    assert lists == set(queue_lists(VIDEO_QUEUE))
    names = [trigger["name"] for trigger in scaled["triggers"]]
    assert sorted(re.findall(r"\bp\d\b", scaled["advanced"]["scalingModifiers"]["formula"])) == sorted(names)


def test_cluster_services_are_probed_and_shut_down_gracefully() -> None:
    resources = render("k8s/overlays/cpu")
    deployments = by_kind(resources, "Deployment")
    settings = dict(by_kind(resources, "ConfigMap").popitem()[1]["data"])
    worker = deployments["vidsafe-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] >= float(settings["VIDSAFE_PART_LEASE_S"])
    triton = deployments["vidsafe-triton"]["spec"]["template"]["spec"]["containers"][0]
    assert triton["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    gateway = deployments["vidsafe-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert deployments["vidsafe-maintenance"]["spec"]["replicas"] == 1
    served = {deployment["spec"]["template"]["spec"]["containers"][0]["args"][-1]
              for deployment in deployments.values()}
    assert served == set(services.CONTAINER_SERVICES)


def test_gpu_overlay_puts_triton_on_a_gpu_with_the_gpu_profile() -> None:
    triton = by_kind(render("k8s/overlays/gpu"), "Deployment")["vidsafe-triton"]["spec"]["template"]["spec"]
    container = triton["containers"][0]
    assert container["image"].startswith("vidsafe-triton-gpu")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["command"] == ["vidsafe-triton-gpu"]
    assert "--model-config-name=gpu" in (DEPLOY / "gpu" / "triton.sh").read_text()
    cpu = by_kind(render("k8s/overlays/cpu"), "Deployment")["vidsafe-triton"]["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in cpu["containers"][0]["resources"].get("limits", {})


PARSE_TASK = """
import json, sys, sky, yaml
config = yaml.safe_load(open(sys.argv[1]))
config["resources"]["infra"] = sys.argv[2]
secrets = [("DATABASE_URL", "postgresql://vidsafe@db.example/vidsafe"), ("REDIS_URL", "redis://redis.example:6379/0")]
envs = [("STATE_BUCKET", "s3://team-vidsafe-state")] if sys.argv[3] == "with-bucket" else []
task = sky.Task.from_yaml_config(config, env_overrides=envs, secrets_overrides=secrets)
print(json.dumps({"clouds": sorted({str(r.cloud) for r in task.resources}), "mounts": sorted(task.storage_mounts)}))
"""


@pytest.fixture(scope="module")
def skypilot_python() -> Path:
    """SkyPilot in a venv of its own (it pins click below what the project's tools need), cached per version."""
    return tool_venv(Settings(), SKYPILOT) / "python"


@pytest.mark.parametrize(("infra", "cloud"), [("runpod", "RunPod"), ("vast", "Vast"), ("aws", "AWS"),
                                              ("kubernetes", "Kubernetes")])
def test_skypilot_task_parses_for_each_provider(skypilot_python: Path, infra: str, cloud: str) -> None:
    task = DEPLOY / "cloud" / "gpu-workers.yaml"
    result = subprocess.run([skypilot_python, "-c", PARSE_TASK, task, infra, "with-bucket"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed == {"clouds": [cloud], "mounts": ["/var/lib/vidsafe"]}


def test_skypilot_task_refuses_to_launch_without_the_shared_state(skypilot_python: Path) -> None:
    result = subprocess.run([skypilot_python, "-c", PARSE_TASK, DEPLOY / "cloud" / "gpu-workers.yaml", "runpod",
                             "no-bucket"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "STATE_BUCKET" in result.stderr


def test_serve_refuses_what_a_container_does_not_run() -> None:
    result = subprocess.run([BIN / "vidsafe", "serve", "postgres"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "one of triton, worker, maintenance, gateway, ui" in " ".join((result.stdout + result.stderr).split())
