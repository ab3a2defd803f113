"""The cluster and what surrounds it, in each cluster mode: the stack's resource group,
monitoring, network, egress firewall, the cluster, the registry the pods pull from and the
cluster's Azure Policy assignments."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .. import naming
from ..aidbox.destinations import aidbox_destinations
from ..azure.admission import ClusterPolicies, ClusterPoliciesArgs
from ..azure.aks import AksCluster, AksClusterArgs, KeyVaultAddon
from ..azure.egress_rules import EgressNeeds, program_registries
from ..azure.existing_aks import ClusterNeeds, ExistingAksCluster, ExistingAksClusterArgs
from ..azure.firewall import EgressFirewall, EgressFirewallArgs
from ..azure.monitoring import Monitoring, MonitoringArgs
from ..azure.network import ForeignSubnets, Network, NetworkArgs
from ..azure.platform import Platform, PlatformArgs
from ..azure.registry import ContainerRegistry, ContainerRegistryArgs
from ..kubernetes.kubeconfig_cluster import KubeconfigCluster, KubeconfigClusterArgs
from ..settings import Settings
from ..settings.vault import REGIONS_WITHOUT_ZONES


@dataclass(frozen=True)
class ClusterParts:
    platform: Platform | None  # every mode but kubeconfig
    monitoring: Monitoring | None
    network: Network | ForeignSubnets | None
    cluster: AksCluster | ExistingAksCluster | KubeconfigCluster
    registry: ContainerRegistry | None  # registry.mode acr
    # Where pods pull the pinned images from: a registry you own (its copies, which
    # scripts/import-images.sh makes), or, without one (None), each image's public registry.
    image_registry: pulumi.Input[str] | None


def build_cluster(settings: Settings, tags: dict[str, str]) -> ClusterParts:
    mode = settings.cluster.mode
    addon = settings.csi.install == "aksAddon"
    platform = None
    if mode != "kubeconfig":
        platform = Platform(
            "platform",
            PlatformArgs(
                resource_group_name=naming.resource_group_name(settings.project, settings.stack),
                location=settings.location,
                tags=tags,
                protect=settings.production,
            ),
        )
    base_name = naming.cluster_name(settings.project, settings.stack)
    # An external Vault reviews pod tokens at the API server: its egress must be admitted there.
    vault_egress = settings.vault.egress_cidrs if settings.vault else ()
    network: Network | ForeignSubnets | None = None
    monitoring = None
    if platform is not None and (mode == "aks" or settings.azure is not None):
        # The cluster's logs and metrics and the Key Vault's audit log; on an existing cluster,
        # the Key Vault's audit log only (its monitoring is its owners').
        monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                resource_group_name=platform.resource_group_name,
                location=platform.location,
                name=base_name,
                settings=settings.monitoring,
                tags=tags,
            ),
        )
    cluster: AksCluster | ExistingAksCluster | KubeconfigCluster
    if mode == "aks":
        assert platform is not None and monitoring is not None
        # Azure resources that need only the resource group start at once, in parallel with
        # each other; the cluster waits for its subnets and workspace only.
        network = Network(
            "network",
            NetworkArgs(
                resource_group_name=platform.resource_group_name,
                location=platform.location,
                name=f"vnet-{base_name}",
                settings=settings.network,
                tags=tags,
                public_web=settings.aidbox.host is not None,
            ),
        )
        firewall = None
        egress = settings.network.egress
        if egress.mode == "firewall":
            # The nodes' only way out: created before the cluster, which waits for it.
            assert network.firewall_subnet_id is not None and egress.next_hop is not None
            firewall = EgressFirewall(
                "egress",
                EgressFirewallArgs(
                    resource_group_name=platform.resource_group_name,
                    location=platform.location,
                    name=base_name,
                    subnet_id=network.firewall_subnet_id,
                    next_hop=egress.next_hop,
                    zones=settings.cluster.zones,
                    needs=EgressNeeds(
                        location=settings.location,
                        sources=(settings.network.system_subnet, settings.network.user_subnet),
                        registries=program_registries(settings),
                        aidbox=aidbox_destinations(settings),
                        prometheus=settings.monitoring.prometheus,
                        container_insights=settings.monitoring.container_insights,
                        public_api_server=not settings.cluster.private,
                        vault_address=settings.vault.address
                        if settings.vault and settings.vault.mode == "external"
                        else None,
                    ),
                    workspace_id=monitoring.workspace_id,
                    tags=tags,
                ),
            )
        cluster = AksCluster(
            "aks",
            AksClusterArgs(
                resource_group_name=platform.resource_group_name,
                location=platform.location,
                tenant_id=platform.tenant_id,
                subscription_id=platform.subscription_id,
                cluster_name=base_name,
                settings=settings.cluster,
                network=settings.network,
                system_subnet_id=network.system_subnet_id,
                user_subnet_id=network.user_subnet_id,
                monitoring=monitoring,
                control_plane_logs=settings.monitoring.control_plane_logs,
                tags=tags,
                namespace=settings.namespace,
                key_vault_addon=KeyVaultAddon(settings.csi.rotation_poll_interval)
                if addon
                else None,
                app_routing=settings.aidbox.host is not None,
                protect=settings.production,
                lock=settings.locks,
                # Routed through it, the nodes reach nothing before the firewall is ready; its
                # address is on the API server's list as soon as it exists (before the route).
                egress_ready=firewall.ready if firewall and egress.through_firewall else None,
                egress_ip=firewall.public_ip if firewall else None,
                api_server_clients=vault_egress,
            ),
        )
    elif mode == "existingAks":
        assert platform is not None and settings.cluster.existing is not None
        network = ForeignSubnets(
            settings.network.private_endpoint_subnet_id,
            settings.network.postgres_subnet_id,
            key_vault_private_dns_zone_id=settings.network.key_vault_private_dns_zone_id,
            postgres_private_dns_zone_id=settings.network.postgres_private_dns_zone_id,
        )
        workload_identity = (
            settings.azure is not None and settings.azure.identity == "workload"
        ) or (settings.vault is not None and settings.vault.mode == "ha")
        cluster = ExistingAksCluster(
            "aks",
            ExistingAksClusterArgs(
                cluster=settings.cluster.existing,
                kubelogin_mode=settings.cluster.kubelogin_mode,
                kubelogin_client_id=settings.cluster.kubelogin_client_id,
                needs=ClusterNeeds(
                    workload_identity=workload_identity,
                    key_vault_addon=addon,
                    rotation_poll_interval=settings.csi.rotation_poll_interval,
                    app_routing=settings.aidbox.host is not None,
                    api_server_clients=vault_egress,
                ),
                namespace=settings.namespace,
            ),
        )
    else:
        assert settings.cluster.kubeconfig is not None
        cluster = KubeconfigCluster(
            "cluster",
            KubeconfigClusterArgs(
                source=settings.cluster.kubeconfig,
                namespace=settings.namespace,
            ),
        )
    registry = None
    image_registry: pulumi.Input[str] | None = settings.registry.server
    if settings.registry.mode == "acr":
        assert (
            platform is not None
            and isinstance(network, Network)
            and isinstance(cluster, AksCluster)
        )
        registry = ContainerRegistry(
            "registry",
            ContainerRegistryArgs(
                resource_group_name=platform.resource_group_name,
                location=platform.location,
                subscription_id=platform.subscription_id,
                settings=settings.registry,
                derived_name=platform.scope.apply(
                    lambda scope: naming.registry_name(settings.project, settings.stack, scope)
                ),
                zones=settings.location not in REGIONS_WITHOUT_ZONES,
                vnet_id=network.vnet_id,
                subnet_id=network.private_endpoint_subnet_id,
                puller_object_id=cluster.kubelet_object_id,
                tags=tags,
            ),
        )
        image_registry = registry.login_server
    if isinstance(cluster, AksCluster) and settings.cluster.azure_policy:
        # The baseline's pod security and allowed-images assignments, on the cluster. The Vault
        # namespace's CSI provider cannot meet restricted (its namespace says why).
        ClusterPolicies(
            "policies",
            ClusterPoliciesArgs(
                cluster_id=cluster.cluster_id,
                cluster_name=base_name,
                login_server=image_registry,
                excluded_namespaces=(settings.vault.helm_namespace,) if settings.vault else (),
            ),
        )
    return ClusterParts(platform, monitoring, network, cluster, registry, image_registry)
