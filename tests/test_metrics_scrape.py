"""Metrics that are scraped (issue 19 #8). Azure Monitor managed Prometheus scrapes annotated pods
only in the namespaces `podannotationnamespaceregex` names (its ama-metrics-settings-configmap;
Azure docs: azure-monitor/containers/prometheus-metrics-scrape-configuration), and reads
ServiceMonitors of the group azmonitoring.coreos.com only (azure-monitor/containers/
prometheus-metrics-scrape-crd). Over every case: every pod template carrying
`prometheus.io/scrape`, the program's own and those its Helm releases render, lives in a
namespace the regex matches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from cases import CASES, run, settings
from harness import AZURE_DEV, VAULT_DEV, run_stack
from test_helm_render import installs

from components.kubernetes.prometheus import CONFIGMAP, scrape_namespace_regex

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
MONITOR = "kubernetes:azmonitoring.coreos.com/v1:ServiceMonitor"


def _annotated(objects: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, str]]:
    for namespace, obj in objects:
        template = (obj.get("spec") or {}).get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if obj.get("kind") in WORKLOADS and annotations.get("prometheus.io/scrape") == "true":
            yield namespace, f"{obj['kind']} {obj['metadata']['name']}"


def annotated_pods(case: str) -> list[tuple[str, str]]:
    """(namespace, workload) of every pod template annotated for scraping."""
    stack = run(case)
    own = [
        (
            (r.props.get("metadata") or {}).get("namespace") or "default",
            {**r.props, "kind": r.type.rsplit(":", 1)[1]},
        )
        for r in stack.resources
        if r.type.startswith("kubernetes:apps/v1:")
    ]
    rendered = [
        (obj.get("metadata", {}).get("namespace") or install.namespace, obj)
        for install in installs(case)
        for obj in install.render().objects
    ]
    return list(_annotated(iter(own + rendered)))


@pytest.mark.parametrize("case", CASES)
def test_every_annotated_pod_is_in_a_namespace_managed_prometheus_scrapes(case: str) -> None:
    s = settings(case)
    pods = annotated_pods(case)
    if not (s.cluster.mode == "aks" and s.monitoring.prometheus):
        return  # no managed Prometheus the program runs (an existing cluster's is its owners')
    if s.csi.metrics == "annotations":
        assert pods, f"{case}: no annotated pod at all"
    if not pods:
        return
    maps = [
        r.props
        for r in run(case).of_type("kubernetes:core/v1:ConfigMap")
        if r.props["metadata"]["name"] == CONFIGMAP
    ]
    assert len(maps) == 1, f"{case}: {len(maps)} {CONFIGMAP}, annotated pods: {pods}"
    assert maps[0]["metadata"]["namespace"] == "kube-system"
    setting = maps[0]["data"]["pod-annotation-based-scraping"]
    found = re.fullmatch(r'podannotationnamespaceregex = "(.*)"', setting)
    assert found, setting
    for namespace, workload in pods:
        assert re.fullmatch(found.group(1), namespace), (
            f"{case}: {workload} in namespace {namespace!r} is annotated for scraping, but "
            f"podannotationnamespaceregex {found.group(1)!r} does not match it"
        )


def test_the_namespace_regex_matches_exactly_the_namespaces() -> None:
    regex = scrape_namespace_regex(["kube-system", "clinic", "kube-system"])
    assert regex == "clinic|kube-system"
    assert re.fullmatch(regex, "clinic") and re.fullmatch(regex, "kube-system")
    assert not re.fullmatch(regex, "clinic-2") and not re.fullmatch(regex, "default")


@pytest.mark.parametrize("base", [AZURE_DEV, VAULT_DEV], ids=["azure", "vault"])
def test_service_monitors_are_the_ones_managed_prometheus_reads(base: dict[str, Any]) -> None:
    stack = run_stack({**base, "csi": {"metrics": "serviceMonitor"}, "namespace": "clinic"})
    monitors = stack.of_type(MONITOR)
    assert not stack.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    names = {m.props["metadata"]["name"]: m.props for m in monitors}
    assert "aidbox-metrics" in names and "secrets-store-csi-driver-metrics" in names
    for monitor in names.values():
        # The limits Azure's templates carry, so the agent does not drop the targets' labels.
        assert monitor["spec"]["labelLimit"] == 63
        assert monitor["spec"]["labelValueLengthLimit"] == 1023
    assert names["aidbox-metrics"]["metadata"]["namespace"] == "clinic"
    assert not [
        r
        for r in stack.of_type("kubernetes:core/v1:ConfigMap")
        if r.props["metadata"]["name"] == CONFIGMAP
    ]


def test_a_cluster_of_its_own_may_run_the_prometheus_operator() -> None:
    """kubeconfig mode: no managed Prometheus; ServiceMonitors are the Prometheus Operator's
    unless the setting says otherwise."""
    s = settings("Pulumi.local.yaml")
    assert s.csi.service_monitor_api_version == "monitoring.coreos.com/v1"
    assert settings("Pulumi.dev.yaml").csi.service_monitor_api_version == (
        "azmonitoring.coreos.com/v1"
    )
