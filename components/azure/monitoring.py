"""Where the cluster and the vault report: a Log Analytics workspace (control-plane and Key
Vault audit logs, Container Insights) and an Azure Monitor workspace (managed Prometheus),
with the data collection rules the cluster is associated with."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor, operationalinsights

from ..settings import MonitoringSettings

PROMETHEUS_STREAM = "Microsoft-PrometheusMetrics"
CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"
# Azure's name limits: a data collection endpoint 3-44 characters, a data collection rule up to
# 64, a Log Analytics workspace 4-63 (letters, digits and '-', alphanumeric at both ends).
ENDPOINT_NAME_LIMIT = 44
RULE_NAME_LIMIT = 64
WORKSPACE_NAME_LIMIT = 63


def fitted_name(prefix: str, name: str, limit: int) -> str:
    """`<prefix>-<name>`, the name `az aks` gives these resources, when it fits; otherwise cut
    to fit and ended with 6 hex characters of the full name's hash, so two long names that share
    a beginning stay apart. A name that fits is kept: renaming one of these is a new resource."""
    full = f"{prefix}-{name}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    return f"{full[: limit - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    name: str  # base of the workspaces' names
    settings: MonitoringSettings
    tags: Mapping[str, str]


class Monitoring(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]
    # Data collection rules (and the Prometheus endpoint) the cluster is associated with.
    prometheus_rule_id: pulumi.Output[str] | None = None
    prometheus_endpoint_id: pulumi.Output[str] | None = None
    container_insights_rule_id: pulumi.Output[str] | None = None

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {
            "resource_group_name": args.resource_group_name,
            "location": args.location,
            "tags": dict(args.tags),
        }
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=fitted_name("log", args.name, WORKSPACE_NAME_LIMIT),
            sku={"name": "PerGB2018"},
            retention_in_days=args.settings.retention_days,
            opts=child,
            **common,
        )
        self.workspace_id = workspace.id
        if args.settings.prometheus:
            self._prometheus(name, args, common, child)
        if args.settings.container_insights:
            self.container_insights_rule_id = monitor.DataCollectionRule(
                f"{name}-container-insights",
                data_collection_rule_name=fitted_name("MSCI", args.name, RULE_NAME_LIMIT),
                data_sources={
                    "extensions": [
                        {
                            "name": "ContainerInsightsExtension",
                            "extension_name": "ContainerInsights",
                            "streams": [CONTAINER_INSIGHTS_STREAM],
                            "extension_settings": {
                                "dataCollectionSettings": {
                                    "interval": "1m",
                                    "namespaceFilteringMode": "Off",
                                    "enableContainerLogV2": True,
                                }
                            },
                        }
                    ]
                },
                destinations={
                    "log_analytics": [{"name": "workspace", "workspace_resource_id": workspace.id}]
                },
                data_flows=[
                    {"streams": [CONTAINER_INSIGHTS_STREAM], "destinations": ["workspace"]}
                ],
                opts=child,
                **common,
            ).id
        self.register_outputs({"workspaceId": self.workspace_id})

    def _prometheus(
        self, name: str, args: MonitoringArgs, common: dict, child: pulumi.ResourceOptions
    ) -> None:
        metrics = monitor.AzureMonitorWorkspace(
            f"{name}-metrics", azure_monitor_workspace_name=f"amw-{args.name}", opts=child, **common
        )
        endpoint = monitor.DataCollectionEndpoint(
            f"{name}-metrics-endpoint",
            data_collection_endpoint_name=fitted_name("MSProm", args.name, ENDPOINT_NAME_LIMIT),
            kind="Linux",
            opts=child,
            **common,
        )
        self.prometheus_endpoint_id = endpoint.id
        self.prometheus_rule_id = monitor.DataCollectionRule(
            f"{name}-prometheus",
            data_collection_rule_name=fitted_name("MSProm", args.name, RULE_NAME_LIMIT),
            kind="Linux",
            data_collection_endpoint_id=endpoint.id,
            data_sources={
                "prometheus_forwarder": [
                    {"name": "PrometheusDataSource", "streams": [PROMETHEUS_STREAM]}
                ]
            },
            destinations={
                "monitoring_accounts": [{"name": "workspace", "account_resource_id": metrics.id}]
            },
            data_flows=[{"streams": [PROMETHEUS_STREAM], "destinations": ["workspace"]}],
            opts=child,
            **common,
        ).id
