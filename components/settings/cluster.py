"""`cluster`: the AKS cluster's nodes and Kubernetes version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reader import Section, fail

MIN_KUBERNETES = (1, 30)  # the CSI driver chart 1.6.0 needs it


@dataclass(frozen=True)
class ClusterSettings:
    node_count: int = 2
    vm_size: str = "Standard_D4s_v5"
    kubernetes_version: str = "1.34"


def parse_cluster(top: Section) -> ClusterSettings:
    s = top.section("cluster")
    s.reject_unknown(("nodeCount", "vmSize", "kubernetesVersion"))
    version = s.string("kubernetesVersion", ClusterSettings.kubernetes_version)
    assert version is not None
    match = re.match(r"^(\d+)\.(\d+)(\.\d+)?$", version)
    if not match or (int(match[1]), int(match[2])) < MIN_KUBERNETES:
        fail(s.key("kubernetesVersion"), version, "'MAJOR.MINOR' (quoted), 1.30 or newer")
    return ClusterSettings(
        node_count=s.integer("nodeCount", ClusterSettings.node_count, minimum=1, maximum=100),
        vm_size=s.string("vmSize", ClusterSettings.vm_size) or ClusterSettings.vm_size,
        kubernetes_version=version,
    )
