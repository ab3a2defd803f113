"""One way to declare a pinned Helm release."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..versions import Chart


def helm_release(
    name: str,
    chart: Chart,
    *,
    release_name: str,
    namespace: str,
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A Helm v3 Release (real Helm in the provider: CRDs, hooks, readiness waits).
    `release_name` is fixed so in-cluster names (services, fullnames) are predictable."""
    return k8s.helm.v3.Release(
        name,
        name=release_name,
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repo},
        namespace=namespace,
        create_namespace=namespace not in ("default", "kube-system"),
        values=values,
        opts=opts,
    )
