"""Pure Helm values for the pinned charts (see versions.py for the keys each may set)."""

from __future__ import annotations

from typing import Any

from ..versions import AZURE_PROVIDER_METRICS_PORT, DRIVER_METRICS_PORT

AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange"


def prometheus_annotations(port: int) -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}


def csi_driver_values(
    *,
    rotation_poll_interval: str,
    workload_identity: bool,
    scrape_annotations: bool,
    sync_secrets: bool,
) -> dict[str, Any]:
    """`sync_secrets` grants the driver cluster-wide RBAC on Secrets: only when some secret is
    mirrored into a Kubernetes Secret (`secretObjects`)."""
    values: dict[str, Any] = {
        "syncSecret": {"enabled": sync_secrets},
        "enableSecretRotation": True,
        "rotationPollInterval": rotation_poll_interval,
        "linux": {"crds": {"enabled": True}},
    }
    if workload_identity:
        # The driver requests this audience's token for the pod, which Azure exchanges.
        values["tokenRequests"] = [{"audience": AZURE_TOKEN_AUDIENCE}]
    if scrape_annotations:
        values["linux"]["podAnnotations"] = prometheus_annotations(DRIVER_METRICS_PORT)
    return values


def azure_provider_values(*, scrape_annotations: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"secrets-store-csi-driver": {"install": False}}
    if scrape_annotations:
        values["linux"] = {"podAnnotations": prometheus_annotations(AZURE_PROVIDER_METRICS_PORT)}
    return values


def vault_chart_values(*, dev: bool, external_address: str | None) -> dict[str, Any]:
    """Dev: a dev-mode server plus the CSI provider. External: the CSI provider only (with
    `global.enabled` false, since `server.enabled: false` alone still renders the server's
    ServiceAccount and its auth-delegator binding). The dev root token is added by the
    component, as a secret."""
    values: dict[str, Any] = {"injector": {"enabled": False}, "csi": {"enabled": True}}
    if dev:
        values["server"] = {"dev": {"enabled": True}}
    else:
        values["global"] = {"enabled": False, "externalVaultAddr": external_address}
    return values
