"""ServiceMonitor scraping (csi.metrics serviceMonitor) for the CSI driver and the Azure provider,
and the `scrape` helper Aidbox uses too: a metrics Service and a ServiceMonitor per target.
Azure Monitor managed Prometheus reads ServiceMonitors of its own group, azmonitoring.coreos.com
(its add-on installs the CRD), and ignores the Prometheus Operator's monitoring.coreos.com ones
(Azure docs: azure-monitor/containers/prometheus-metrics-scrape-crd)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..versions import AZURE_PROVIDER_METRICS_PORT, DRIVER_METRICS_PORT

MANAGED_PROMETHEUS_API = "azmonitoring.coreos.com/v1"
OPERATOR_API = "monitoring.coreos.com/v1"
# What Azure's ServiceMonitor template sets, so the agent keeps the targets' labels.
MANAGED_PROMETHEUS_LIMITS = {
    "labelLimit": 63,
    "labelNameLengthLimit": 511,
    "labelValueLengthLimit": 1023,
}


@dataclass(frozen=True)
class ScrapeTarget:
    name: str
    selector: Mapping[str, str]  # the pods' labels, as the chart or add-on sets them
    port: int


DRIVER = ScrapeTarget(
    "secrets-store-csi-driver", {"app": "secrets-store-csi-driver"}, DRIVER_METRICS_PORT
)
AZURE_PROVIDER_HELM = ScrapeTarget(
    "csi-secrets-store-provider-azure",
    {"app": "csi-secrets-store-provider-azure"},
    AZURE_PROVIDER_METRICS_PORT,
)
AZURE_PROVIDER_ADDON = ScrapeTarget(
    "secrets-store-provider-azure",
    {"app": "secrets-store-provider-azure"},
    AZURE_PROVIDER_METRICS_PORT,
)


@dataclass(frozen=True)
class CsiMetricsArgs:
    provider: k8s.Provider
    targets: Sequence[ScrapeTarget]
    namespace: str = "kube-system"
    api_version: str = MANAGED_PROMETHEUS_API
    depends_on: Sequence[pulumi.Resource] = ()


class CsiMetrics(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: CsiMetricsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:csi:CsiMetrics", name, None, opts)
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=list(args.depends_on)
        )
        for target in args.targets:
            scrape(f"{name}-{target.name}", target, args.namespace, child, args.api_version)
        self.register_outputs({})


def scrape(
    name: str,
    target: ScrapeTarget,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    api_version: str,
    endpoints: Sequence[tuple[str, str]] = (("/metrics", "30s"),),
) -> None:
    """A headless metrics Service for `target`'s pods and a ServiceMonitor scraping each
    (path, interval) of `endpoints`."""
    labels = {"app.kubernetes.io/name": f"{target.name}-metrics"}
    meta = {"name": f"{target.name}-metrics", "namespace": namespace, "labels": labels}
    k8s.core.v1.Service(
        name,
        metadata=meta,
        spec={
            "clusterIP": "None",
            "selector": dict(target.selector),
            "ports": [{"name": "metrics", "port": target.port, "targetPort": target.port}],
        },
        opts=opts,
    )
    spec: dict = {
        "selector": {"matchLabels": labels},
        "endpoints": [
            {"port": "metrics", "path": path, "interval": interval} for path, interval in endpoints
        ],
    }
    if api_version == MANAGED_PROMETHEUS_API:
        spec |= MANAGED_PROMETHEUS_LIMITS
    k8s.apiextensions.CustomResource(
        f"{name}-monitor",
        api_version=api_version,
        kind="ServiceMonitor",
        metadata=meta,
        spec=spec,
        opts=opts,
    )
