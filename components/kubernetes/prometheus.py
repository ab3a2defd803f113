"""Azure Monitor managed Prometheus settings: scrape annotated pods in kube-system, where the
CSI driver and its Azure provider run with `prometheus.io/scrape` annotations. Without this
ConfigMap (AKS does not create one) the agent scrapes no annotated pod at all."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

CONFIGMAP = "ama-metrics-settings-configmap"  # the name the ama-metrics agent reads


def ama_metrics_settings(namespaces: str) -> dict[str, str]:
    """The ConfigMap's data: only what changes from the agent's defaults (keys left out keep
    their default)."""
    return {
        "schema-version": "v1",
        "config-version": "ver1",
        "pod-annotation-based-scraping": f'podannotationnamespaceregex = "{namespaces}"',
    }


class PrometheusScrapeSettings(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        provider: k8s.Provider,
        namespaces: str = "kube-system",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("aidbox-secrets:kubernetes:PrometheusScrapeSettings", name, None, opts)
        k8s.core.v1.ConfigMap(
            f"{name}-settings",
            metadata={"name": CONFIGMAP, "namespace": "kube-system"},
            data=ama_metrics_settings(namespaces),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.register_outputs({})
