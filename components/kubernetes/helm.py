"""One way to declare a pinned Helm release from a vendored chart archive."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import images
from ..versions import Chart

# Long enough for images to pull on new nodes; a first install of a waiting release that still
# times out is uninstalled (atomic), so it never leaves a failed release that blocks the next
# `up`.
TIMEOUT_SECONDS = 600


def helm_release(
    name: str,
    chart: Chart,
    *,
    release_name: str,
    namespace: str,
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    wait: bool = True,
    image_registry: pulumi.Input[str] | None = None,
    image_keys: tuple[str, ...] | None = None,
) -> k8s.helm.v3.Release:
    """A Helm v3 Release (real Helm in the provider: CRDs, hooks, readiness waits), installed
    from the archive in charts/, so no chart repository is needed at deploy time.
    `release_name` is fixed so in-cluster names (services, fullnames) are predictable.
    `wait=False` for workloads that cannot be ready at install (a sealed Vault before init):
    such a release is not atomic either, since Helm's `atomic` turns its wait back on.
    `image_registry`: the login server of a registry you own; the chart's images (those of
    `image_keys`, default all it runs) are pulled from its copies (components/images.py)."""
    if image_registry is not None:
        values = pulumi.Output.all(values, image_registry).apply(
            lambda v: images.merged(v[0], images.chart_values(chart, v[1], image_keys))
        )
    return k8s.helm.v3.Release(
        name,
        name=release_name,
        chart=chart.archive,
        version=chart.version,
        namespace=namespace,
        create_namespace=namespace not in ("default", "kube-system"),
        values=values,
        timeout=TIMEOUT_SECONDS,
        skip_await=None if wait else True,
        atomic=wait,
        cleanup_on_fail=True,
        opts=opts,
    )
