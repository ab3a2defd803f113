"""`csi` and `rotationPollInterval`: how the driver is installed, polls and is scraped."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Section, fail
from .values import duration_seconds

CSI_INSTALLS = ("helm", "aksAddon")
METRICS_MODES = ("none", "annotations", "serviceMonitor")
# ServiceMonitors for Azure Monitor managed Prometheus (its own API group), or for a Prometheus
# Operator (a cluster of your own, cluster.mode kubeconfig: the default there).
SERVICE_MONITOR_APIS = ("azmonitoring.coreos.com/v1", "monitoring.coreos.com/v1")


@dataclass(frozen=True)
class CsiSettings:
    install: str = "helm"
    rotation_poll_interval: str = "30s"
    metrics: str = "annotations"
    service_monitor_api_version: str = SERVICE_MONITOR_APIS[0]


def parse_csi(top: Section, store: str, cluster_mode: str = "aks") -> CsiSettings:
    s = top.section("csi")
    s.reject_unknown(("install", "metrics", "serviceMonitorApiVersion"))
    interval = top.string("rotationPollInterval", CsiSettings.rotation_poll_interval)
    assert interval is not None
    seconds = duration_seconds(interval)
    if seconds is None or not 10 <= seconds <= 86400:
        fail(
            "rotationPollInterval",
            interval,
            "a Go duration such as 30s, 2m, 1.5m or 1h30m (h, m, s, ms parts), from 10s to 24h",
        )
    install = s.string("install", CsiSettings.install, choices=CSI_INSTALLS)
    if install == "aksAddon" and store != "azure":
        fail(s.key("install"), install, "the AKS add-on carries only the Azure provider: use helm")
    return CsiSettings(
        install=install or CsiSettings.install,
        rotation_poll_interval=interval,
        metrics=s.string("metrics", CsiSettings.metrics, choices=METRICS_MODES)
        or CsiSettings.metrics,
        service_monitor_api_version=s.string(
            "serviceMonitorApiVersion",
            SERVICE_MONITOR_APIS[1 if cluster_mode == "kubeconfig" else 0],
            choices=SERVICE_MONITOR_APIS,
        )
        or SERVICE_MONITOR_APIS[0],
    )
