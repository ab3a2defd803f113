"""`monitoring`: the Log Analytics workspace and what the cluster sends to Azure Monitor."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Section

# AKS control-plane log categories (diagnostic settings on the managed cluster).
CONTROL_PLANE_LOGS = (
    "kube-apiserver",
    "kube-audit",
    "kube-audit-admin",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "cloud-controller-manager",
    "guard",
    "csi-azuredisk-controller",
    "csi-azurefile-controller",
    "csi-snapshot-controller",
)
# kube-audit-admin leaves out get/list (most of kube-audit's volume) but keeps every change.
AUDIT_LOGS = ("kube-audit", "kube-audit-admin")


@dataclass(frozen=True)
class MonitoringSettings:
    prometheus: bool = True  # Azure Monitor managed Prometheus
    container_insights: bool = True  # container logs and inventory to Log Analytics
    control_plane_logs: tuple[str, ...] = (
        "kube-apiserver",
        "kube-audit-admin",
        "kube-controller-manager",
        "cluster-autoscaler",
        "guard",
    )
    retention_days: int = 90


CLUSTER_MONITORING = ("prometheus", "containerInsights", "controlPlaneLogs")


def parse_monitoring(top: Section, cluster_mode: str = "aks") -> MonitoringSettings:
    """On a cluster this program does not create, its monitoring is its owner's: only the Log
    Analytics workspace for the Key Vault audit log remains (existingAks), or nothing."""
    s = top.section("monitoring")
    s.reject_unknown((*CLUSTER_MONITORING, "retentionDays"))
    d = MonitoringSettings()
    if cluster_mode != "aks":
        for name in s.data:
            if name in CLUSTER_MONITORING or cluster_mode == "kubeconfig":
                s.fail(
                    name,
                    s.data[name],
                    f"not with cluster.mode {cluster_mode}: the cluster's monitoring is its "
                    "owner's"
                    + ("" if cluster_mode == "kubeconfig" else " (retentionDays is allowed)"),
                )
        return MonitoringSettings(
            prometheus=False,
            container_insights=False,
            control_plane_logs=(),
            retention_days=s.integer("retentionDays", d.retention_days, minimum=30, maximum=730),
        )
    logs = s.string_list("controlPlaneLogs") if s.has("controlPlaneLogs") else d.control_plane_logs
    for category in logs:
        if category not in CONTROL_PLANE_LOGS:
            s.fail("controlPlaneLogs", category, f"categories from {list(CONTROL_PLANE_LOGS)}")
    return MonitoringSettings(
        prometheus=s.boolean("prometheus", d.prometheus),
        container_insights=s.boolean("containerInsights", d.container_insights),
        control_plane_logs=tuple(dict.fromkeys(logs)),
        retention_days=s.integer("retentionDays", d.retention_days, minimum=30, maximum=730),
    )
