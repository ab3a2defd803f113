"""The AKS cluster (Entra ID only, Azure CNI Overlay with a network policy engine, a system and
a user pool, upgrades in a maintenance window, Azure Monitor), its configured admins, and a
Kubernetes provider that authenticates through kubelogin with no credential in state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice, monitor

from ..kubernetes.target import aidbox_namespace
from ..settings import ClusterSettings, MaintenanceWindow, NetworkSettings, PoolSettings
from .aks_access import EntraAccess
from .api_server_access import authorized_ranges
from .grants import grant_principals
from .locks import delete_lock
from .monitoring import Monitoring
from .roles import AKS_RBAC_CLUSTER_ADMIN

KEY_VAULT_ADDON = "azureKeyvaultSecretsProvider"
CONTAINER_INSIGHTS_ADDON = "omsagent"
AZURE_POLICY_ADDON = "azurepolicy"
# The AKS baseline's interval: unused images leave the nodes within five days.
IMAGE_CLEANER_HOURS = 120
SYSTEM_TAINT = "CriticalAddonsOnly=true:NoSchedule"
# The pools' names in Azure. The user pool's is the one it had inside the cluster resource:
# existing stacks import that pool into its AgentPool resource (docs/operations.md,
# "Upgrade notes").
SYSTEM_POOL, USER_POOL = "system", "user"
# Both schedules AKS reads for the two upgrade channels.
MAINTENANCE_CONFIGS = ("aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule")


@dataclass(frozen=True)
class KeyVaultAddon:
    """The AKS-managed CSI driver + Azure provider, instead of the Helm releases."""

    rotation_poll_interval: str


@dataclass(frozen=True)
class AksClusterArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    cluster_name: str
    settings: ClusterSettings
    network: NetworkSettings
    system_subnet_id: pulumi.Input[str]
    user_subnet_id: pulumi.Input[str]
    monitoring: Monitoring
    control_plane_logs: tuple[str, ...]
    tags: Mapping[str, str]
    namespace: str = "default"  # where Aidbox runs; created unless it is "default"
    key_vault_addon: KeyVaultAddon | None = None
    app_routing: bool = False  # the application routing add-on (managed NGINX Ingress)
    protect: bool = False
    lock: bool = False  # a CanNotDelete lock (locks)
    # Egress through a firewall the program creates: the firewall once ready (the cluster's
    # nodes reach nothing before), and its public address (the nodes reach a public API server
    # from there).
    egress_ready: pulumi.Input[Any] | None = None
    egress_ip: pulumi.Input[str] | None = None
    # An external Vault's egress ranges: it reviews pod tokens at the API server.
    api_server_clients: tuple[str, ...] = ()


def addon_profiles(
    addon: KeyVaultAddon | None,
    workspace_id: pulumi.Input[str] | None,
    azure_policy: bool = False,
) -> dict[str, Any]:
    """The add-ons' config is a map of strings, booleans included. The Azure Policy add-on
    (Gatekeeper, policy v2) is stated either way, so turning it off reaches the cluster."""
    profiles: dict[str, Any] = {
        AZURE_POLICY_ADDON: {"enabled": True, "config": {"version": "v2"}}
        if azure_policy
        else {"enabled": False}
    }
    if addon is not None:
        profiles[KEY_VAULT_ADDON] = {
            "enabled": True,
            "config": {
                "enableSecretRotation": "true",
                "rotationPollInterval": addon.rotation_poll_interval,
            },
        }
    if workspace_id is not None:
        profiles[CONTAINER_INSIGHTS_ADDON] = {
            "enabled": True,
            "config": {"logAnalyticsWorkspaceResourceID": workspace_id, "useAADAuth": "true"},
        }
    return profiles


def security_profile(settings: ClusterSettings, workspace_id: pulumi.Input[str]) -> dict[str, Any]:
    """Workload identity always (pods get identities of their own, never the kubelet's), the
    image cleaner, and Defender for Containers' sensor reporting to the Log Analytics workspace
    (the subscription's Defender for Containers plan bills and configures it), each stated so
    that turning one off reaches the cluster."""
    defender: dict[str, Any] = {"security_monitoring": {"enabled": settings.defender}}
    if settings.defender:
        defender["log_analytics_workspace_resource_id"] = workspace_id
    return {
        "workload_identity": {"enabled": True},
        "image_cleaner": {
            "enabled": settings.image_cleaner,
            "interval_hours": IMAGE_CLEANER_HOURS,
        },
        "defender": defender,
    }


def pool_properties(
    pool: PoolSettings, *, system: bool, zones: tuple[str, ...], subnet_id: Any
) -> dict[str, Any]:
    """A node pool, for the cluster's agentPoolProfiles (system) or an AgentPool (user). The
    count is the autoscaler's floor: AKS needs one to create a pool (between min and max), and
    the resources ignore it afterwards (AKS refuses a count other than the pool's current one
    while the autoscaler owns it)."""
    return {
        "mode": containerservice.AgentPoolMode.SYSTEM
        if system
        else containerservice.AgentPoolMode.USER,
        "vm_size": pool.vm_size,
        "os_type": containerservice.OSType.LINUX,
        "os_sku": "AzureLinux",
        "type": containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        "enable_auto_scaling": True,
        "min_count": pool.min_count,
        "max_count": pool.max_count,
        "count": pool.min_count,
        "availability_zones": list(zones) or None,
        "vnet_subnet_id": subnet_id,
        # System pools run only what AKS needs (CoreDNS, metrics, CSI add-ons): Aidbox and
        # PostgreSQL go to the user pool.
        "node_taints": [SYSTEM_TAINT] if system else None,
        "upgrade_settings": {"max_surge": "33%"},
    }


def network_profile(settings: ClusterSettings, network: NetworkSettings) -> dict[str, Any]:
    cilium = settings.network_policy == "cilium"
    return {
        "network_plugin": "azure",
        "network_plugin_mode": "overlay",
        # Azure CNI powered by Cilium: the Cilium dataplane enforces the NetworkPolicies.
        "network_dataplane": "cilium" if cilium else "azure",
        "network_policy": settings.network_policy,
        "pod_cidr": network.pod_cidr,
        "service_cidr": network.service_cidr,
        "dns_service_ip": network.dns_service_ip,
        "load_balancer_sku": "standard",
        # userDefinedRouting: the node subnets' route to a firewall (network.egress); AKS checks
        # at creation that it exists (mspnp/aks-baseline, workload-team/cluster-stamp.bicep).
        "outbound_type": network.egress.outbound_type,
    }


def with_egress_ip(
    ranges: list[str] | None, egress_ip: pulumi.Input[str] | None
) -> pulumi.Input[list[str]] | None:
    """The API server's ranges and, with a firewall of the program's, its address: the nodes
    (and pods) reach a public API server from there. None stays None (no restriction)."""
    if ranges is None or egress_ip is None:
        return ranges
    return pulumi.Output.from_input(egress_ip).apply(lambda ip: [*ranges, f"{ip}/32"])


def maintenance_window(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "schedule": {"weekly": {"interval_weeks": 1, "day_of_week": window.day}},
        "duration_hours": window.duration_hours,
        "start_time": window.start,
        "utc_offset": window.utc_offset,
    }


class AksCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    kubelet_client_id: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    addon_client_id: pulumi.Output[str] | None
    addon_object_id: pulumi.Output[str] | None
    api_server_url: pulumi.Output[str]
    api_server_ca: pulumi.Output[str]
    provider: k8s.Provider
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:AksCluster", name, None, opts)
        s = args.settings
        mon = args.monitoring
        cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_group_name=args.resource_group_name,
            location=args.location,
            resource_name_=args.cluster_name,
            dns_prefix=args.cluster_name,
            kubernetes_version=s.kubernetes_version,
            sku={"name": "Base", "tier": s.tier},
            enable_rbac=True,
            # Entra ID sign-in, Azure RBAC for authorization, and no static admin credential.
            aad_profile={
                "managed": True,
                "enable_azure_rbac": True,
                "tenant_id": args.tenant_id,
                "admin_group_object_ids": list(s.admin_group_object_ids) or None,
            },
            disable_local_accounts=not s.local_accounts,
            identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
            # The system pool only: the user pool is an AgentPool of its own (below).
            agent_pool_profiles=[
                {
                    "name": SYSTEM_POOL,
                    **pool_properties(
                        s.system_pool, system=True, zones=s.zones, subnet_id=args.system_subnet_id
                    ),
                }
            ],
            network_profile=network_profile(s, args.network),
            api_server_access_profile={
                "authorized_ip_ranges": with_egress_ip(
                    authorized_ranges(s.api_server_authorized_ranges, args.api_server_clients),
                    args.egress_ip,
                ),
                "enable_private_cluster": s.private,
                # Run Command reaches the cluster around the authorized ranges.
                "disable_run_command": not s.run_command,
            },
            auto_upgrade_profile={
                "upgrade_channel": s.upgrade_channel,
                "node_os_upgrade_channel": s.node_os_upgrade_channel,
            },
            azure_monitor_profile={"metrics": {"enabled": True}}
            if mon.prometheus_rule_id is not None
            else None,
            oidc_issuer_profile={"enabled": True},
            security_profile=security_profile(s, mon.workspace_id),
            addon_profiles=addon_profiles(
                args.key_vault_addon,
                mon.workspace_id if mon.container_insights_rule_id is not None else None,
                azure_policy=s.azure_policy,
            ),
            ingress_profile={"web_app_routing": {"enabled": True}} if args.app_routing else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                # Every cluster update re-sends its pools: never a new system pool count.
                ignore_changes=["agentPoolProfiles[0].count"],
                depends_on=[args.egress_ready] if args.egress_ready is not None else None,
            ),
        )
        if args.lock:
            delete_lock(f"{name}-cluster", self, scope=cluster.id, what="the AKS cluster")
        self._user_pool(name, args, cluster)
        kubelet = cluster.identity_profile.apply(lambda p: p["kubeletidentity"])
        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        self.kubelet_client_id = kubelet.apply(lambda i: i.client_id)
        self.kubelet_object_id = kubelet.apply(lambda i: i.object_id)
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url)
        self.addon_client_id = self.addon_object_id = None
        if args.key_vault_addon:
            addon = cluster.addon_profiles.apply(lambda p: p[KEY_VAULT_ADDON].identity)
            self.addon_client_id = addon.apply(lambda i: i.client_id)
            self.addon_object_id = addon.apply(lambda i: i.object_id)

        # Configured people and groups, on the cluster. Nothing waits for them: CI deploys with
        # the cluster admin the bootstrap granted it ahead of time (docs/ci-cd.md), so no
        # deploy step sits out the minutes Azure RBAC takes to reach the API server.
        grant_principals(
            f"{name}-admin",
            self,
            scope=cluster.id,
            subscription_id=args.subscription_id,
            role=AKS_RBAC_CLUSTER_ADMIN,
            principals=s.admins,
            description="cluster admin (aidbox-secrets cluster.clusterAdmins)",
        )
        self._maintenance(name, args, cluster)
        self._observability(name, args, cluster)

        access = EntraAccess(
            name,
            self,
            resource_group_name=args.resource_group_name,
            cluster_name=cluster.name,
            kubeconfig_name=args.cluster_name,
            login=s.kubelogin_mode,
            client_id=s.kubelogin_client_id,
        )
        self.api_server_url, self.api_server_ca = access.api_server_url, access.api_server_ca
        self.provider = access.provider
        self.namespace = aidbox_namespace(name, args.namespace, self.provider, self)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeletClientId": self.kubelet_client_id,
                "oidcIssuerUrl": self.oidc_issuer_url,
            }
        )

    def _user_pool(
        self, name: str, args: AksClusterArgs, cluster: containerservice.ManagedCluster
    ) -> containerservice.AgentPool:
        """Aidbox's, PostgreSQL's and Vault's nodes. A pool of its own, not in the cluster's
        agentPoolProfiles: AKS adds and resizes pools of an existing cluster only through the
        agent pool API, and a cluster update would re-send this pool's count too. Created once
        the cluster is (it names the cluster)."""
        s = args.settings
        return containerservice.AgentPool(
            f"{name}-user-pool",
            resource_group_name=args.resource_group_name,
            resource_name_=cluster.name,
            agent_pool_name=USER_POOL,
            **pool_properties(
                s.user_pool, system=False, zones=s.zones, subnet_id=args.user_subnet_id
            ),
            # Like every resource: the policy pack reads `environment` from them too.
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, ignore_changes=["count"]
            ),
        )

    def _maintenance(
        self, name: str, args: AksClusterArgs, cluster: containerservice.ManagedCluster
    ) -> None:
        window = maintenance_window(args.settings.maintenance_window)
        for config in MAINTENANCE_CONFIGS:
            containerservice.MaintenanceConfiguration(
                f"{name}-{config}",
                resource_group_name=args.resource_group_name,
                resource_name_=cluster.name,
                config_name=config,
                maintenance_window=window,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _observability(
        self, name: str, args: AksClusterArgs, cluster: containerservice.ManagedCluster
    ) -> None:
        mon = args.monitoring
        if args.control_plane_logs:
            monitor.DiagnosticSetting(
                f"{name}-control-plane-logs",
                name="control-plane-to-log-analytics",
                resource_uri=cluster.id,
                workspace_id=mon.workspace_id,
                log_analytics_destination_type="Dedicated",
                logs=[{"category": c, "enabled": True} for c in args.control_plane_logs],
                opts=pulumi.ResourceOptions(parent=self),
            )
        associations = {}
        if mon.prometheus_rule_id is not None:
            associations["ContainerInsightsMetricsExtension"] = {
                "data_collection_rule_id": mon.prometheus_rule_id
            }
            associations["configurationAccessEndpoint"] = {
                "data_collection_endpoint_id": mon.prometheus_endpoint_id
            }
        if mon.container_insights_rule_id is not None:
            associations["ContainerInsightsExtension"] = {
                "data_collection_rule_id": mon.container_insights_rule_id
            }
        for association, target in associations.items():
            monitor.DataCollectionRuleAssociation(
                f"{name}-{association}",
                resource_uri=cluster.id,
                association_name=association,
                opts=pulumi.ResourceOptions(parent=self),
                **target,
            )
