"""Aidbox's pod template spec: its container, probes, spread and volumes. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from ..binding import StoreBinding
from ..kubernetes.secret_provider_class import csi_volume
from ..settings import Settings
from . import render

NAME = "aidbox"
SECRETS_VOLUME = "secrets-store"


def topology_spread(selector: Mapping[str, str]) -> list[dict[str, Any]]:
    """Across zones, then nodes. Soft, as Aidbox's HA guide has it: a region without zones or a
    cordoned node must not keep a pod pending. pod-template-hash counts one revision only."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def pod_spec(
    *,
    s: Settings,
    binding: StoreBinding,
    spc_name: pulumi.Input[str],
    config_map: str,
    env: list[dict[str, Any]],
    command: Sequence[str],
    selector: Mapping[str, str],
    image: pulumi.Input[str],
) -> dict[str, Any]:
    """`command` is the start script (start.py): it replaces the image's entrypoint and runs it
    last. `image`: the pinned one, or its copy in a registry you own (kubernetes/pull.py)."""
    health = {
        "httpGet": {"path": "/health", "port": "http"},
        "timeoutSeconds": s.aidbox.probe_timeout_seconds,
    }
    return {
        "serviceAccountName": s.aidbox.service_account,
        "topologySpreadConstraints": topology_spread(selector),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": NAME,
                "image": image,
                "command": list(command),
                "ports": [
                    {"name": "http", "containerPort": render.WEB_PORT},
                    {"name": "metrics", "containerPort": render.METRICS_PORT},
                ],
                "env": env,
                "startupProbe": {**health, "periodSeconds": 5, "failureThreshold": 60},
                "readinessProbe": {**health, "periodSeconds": 10, "failureThreshold": 3},
                "livenessProbe": {**health, "periodSeconds": 15, "failureThreshold": 4},
                "resources": {
                    "requests": {"cpu": s.aidbox.cpu_request, "memory": s.aidbox.memory_request},
                    "limits": {"cpu": s.aidbox.cpu_limit, "memory": s.aidbox.memory_limit},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                # No subPath on the secrets volume: a subPath mount never sees rotation.
                "volumeMounts": [
                    {"name": SECRETS_VOLUME, "mountPath": binding.mount_dir, "readOnly": True},
                    {"name": "config", "mountPath": render.CONFIG_DIR, "readOnly": True},
                ],
            }
        ],
        "volumes": [
            csi_volume(SECRETS_VOLUME, spc_name, binding.node_publish_secret),
            {"name": "config", "configMap": {"name": config_map}},
        ],
    }
