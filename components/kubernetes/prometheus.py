"""Azure Monitor managed Prometheus settings: scrape annotated pods in the namespaces that have
them: kube-system, where the CSI driver and its Azure provider run with `prometheus.io/scrape`
annotations, and Aidbox's. Without this ConfigMap (AKS does not create one) the agent scrapes no
annotated pod at all: `podannotationnamespaceregex` is empty by default (Azure docs:
azure-monitor/containers/prometheus-metrics-scrape-configuration)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pulumi
import pulumi_kubernetes as k8s

CONFIGMAP = "ama-metrics-settings-configmap"  # the name the ama-metrics agent reads


def scrape_namespace_regex(namespaces: Iterable[str]) -> str:
    """Exactly these namespaces, sorted, once. Namespace names are DNS labels (a-z, 0-9, '-'):
    nothing in them is special to a regex outside a character class."""
    names = sorted(set(namespaces))
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in names), names
    return "|".join(names)


def ama_metrics_settings(namespaces: Iterable[str]) -> dict[str, str]:
    """The ConfigMap's data: only what changes from the agent's defaults (keys left out keep
    their default)."""
    regex = scrape_namespace_regex(namespaces)
    return {
        "schema-version": "v1",
        "config-version": "ver1",
        "pod-annotation-based-scraping": f'podannotationnamespaceregex = "{regex}"',
    }


class PrometheusScrapeSettings(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        provider: k8s.Provider,
        namespaces: Iterable[pulumi.Input[str]] | Iterable[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("aidbox-secrets:kubernetes:PrometheusScrapeSettings", name, None, opts)
        k8s.core.v1.ConfigMap(
            f"{name}-settings",
            metadata={"name": CONFIGMAP, "namespace": "kube-system"},
            data=ama_metrics_settings(namespaces),  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.register_outputs({})
