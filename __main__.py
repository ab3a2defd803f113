"""Aidbox on AKS, reading secrets mounted by the Secrets Store CSI Driver from Azure Key Vault
or HashiCorp Vault. Reads settings, composes the components, exports the stack outputs."""

import dataclasses

import pulumi

from components import naming
from components.aidbox.component import Aidbox, AidboxArgs
from components.aidbox.db_role import DatabaseRole, DatabaseRoleArgs
from components.aidbox.destinations import aidbox_destinations
from components.aidbox.generated import GeneratedSecrets
from components.aidbox.postgres import Postgres, PostgresArgs
from components.aidbox.service_account import StoreServiceAccount, StoreServiceAccountArgs
from components.azure.admission import ClusterPolicies, ClusterPoliciesArgs
from components.azure.aks import AksCluster, AksClusterArgs, KeyVaultAddon
from components.azure.egress_rules import EgressNeeds, program_registries
from components.azure.existing_aks import (
    ClusterNeeds,
    ExistingAksCluster,
    ExistingAksClusterArgs,
)
from components.azure.firewall import EgressFirewall, EgressFirewallArgs
from components.azure.kubeconfig import get_credentials_command
from components.azure.monitoring import Monitoring, MonitoringArgs
from components.azure.network import ForeignSubnets, Network, NetworkArgs
from components.azure.platform import Platform, PlatformArgs
from components.azure.postgres_flexible import FlexibleServer, FlexibleServerArgs
from components.azure.registry import ContainerRegistry, ContainerRegistryArgs
from components.kubernetes.csi import CsiDriver, CsiDriverArgs
from components.kubernetes.kubeconfig_cluster import KubeconfigCluster, KubeconfigClusterArgs
from components.kubernetes.metrics import (
    AZURE_PROVIDER_ADDON,
    AZURE_PROVIDER_HELM,
    DRIVER,
    CsiMetrics,
    CsiMetricsArgs,
)
from components.kubernetes.network_policies import NetworkPolicies, NetworkPoliciesArgs
from components.kubernetes.prometheus import PrometheusScrapeSettings
from components.kubernetes.secret_provider_class import SecretProviderClass, SecretProviderClassArgs
from components.settings import load_settings
from components.settings.managed import (
    AIDBOX_READER,
    DATABASE_READER,
    DB_PASSWORD,
    store_readers,
)
from components.settings.vault import REGIONS_WITHOUT_ZONES
from components.stores.azure import AzureKeyVaultStore, AzureKeyVaultStoreArgs
from components.stores.parameters import secret_objects
from components.stores.vault import HashiCorpVaultStore, HashiCorpVaultStoreArgs

settings = load_settings()
environment = "production" if settings.production else "non-production"
tags = {"app": settings.project, "stack": settings.stack, "environment": environment}
labels = {"app.kubernetes.io/part-of": settings.project, "aidbox-secrets/environment": environment}
addon = settings.csi.install == "aksAddon"

mode = settings.cluster.mode
workload_identity = (settings.azure is not None and settings.azure.identity == "workload") or (
    settings.vault is not None and settings.vault.mode == "ha"
)
# The stack's resource group (Key Vault, identities, database): in every mode but kubeconfig.
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
    # Azure resources that need only the resource group start at once, in parallel with each
    # other; the cluster waits for its subnets and workspace only.
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
            key_vault_addon=KeyVaultAddon(settings.csi.rotation_poll_interval) if addon else None,
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
# Where pods pull the pinned images from: a registry you own (its copies, which
# scripts/import-images.sh makes), or, without one, each image's public registry.
registry = None
image_registry: pulumi.Input[str] | None = settings.registry.server
if settings.registry.mode == "acr":
    assert platform is not None and isinstance(network, Network) and isinstance(cluster, AksCluster)
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
# The driver installs the SecretProviderClass CRD: with the add-on, AKS installs it.
driver_ready = []
if not addon:
    driver = CsiDriver(
        "csi",
        CsiDriverArgs(
            provider=cluster.provider,
            rotation_poll_interval=settings.csi.rotation_poll_interval,
            workload_identity=settings.azure is not None and settings.azure.identity == "workload",
            scrape_annotations=settings.csi.metrics == "annotations",
            sync_secrets=bool(secret_objects(settings.secrets)),
            image_registry=image_registry,
        ),
    )
    driver_ready = [driver.release]

# Aidbox's signing keys and the database passwords, seeded into the store once.
generated = GeneratedSecrets("generated")
# Who reads which secret: Aidbox, and the database (its server and the role Job), each as a
# ServiceAccount of its own that the store lets read its own secrets only.
readers = store_readers(
    settings.secrets, settings.aidbox.service_account, settings.postgres.service_account
)
if settings.secret_store == "azure":
    assert platform is not None and network is not None and monitoring is not None
    assert not isinstance(cluster, KubeconfigCluster)  # the settings refuse it
    store = AzureKeyVaultStore(
        "store",
        AzureKeyVaultStoreArgs(
            settings,
            platform=platform,
            cluster=cluster,
            network=network,
            monitoring=monitoring,
            tags=tags,
            seeds=generated.values,
            readers=readers,
            image_registry=image_registry,
        ),
    )
else:
    store = HashiCorpVaultStore(
        "store",
        HashiCorpVaultStoreArgs(
            settings,
            cluster=cluster,
            platform=platform,
            oidc_issuer_url=None
            if isinstance(cluster, KubeconfigCluster)
            else cluster.oidc_issuer_url,
            tags=tags,
            network=network,
            seeds=generated.values,
            labels=labels,
            readers=readers,
            image_registry=image_registry,
        ),
    )
aidbox_binding = store.bindings[AIDBOX_READER]
database_binding = store.bindings[DATABASE_READER]

if settings.csi.metrics == "serviceMonitor":
    azure_provider = AZURE_PROVIDER_ADDON if addon else AZURE_PROVIDER_HELM
    CsiMetrics(
        "metrics",
        CsiMetricsArgs(
            provider=cluster.provider,
            targets=[DRIVER, azure_provider] if settings.azure else [DRIVER],
            api_version=settings.csi.service_monitor_api_version,
            depends_on=driver_ready,
        ),
    )

if mode == "aks" and settings.monitoring.prometheus and settings.csi.metrics == "annotations":
    # Managed Prometheus scrapes annotated pods only in the namespaces this names: the driver's
    # and the Azure provider's (kube-system) and Aidbox's.
    PrometheusScrapeSettings(
        "prometheus", provider=cluster.provider, namespaces=["kube-system", settings.namespace]
    )
# A managed database needs only the network and its password: it is built beside the cluster.
managed_db = None
if settings.postgres.flexible is not None:
    assert platform is not None and network is not None
    managed_db = FlexibleServer(
        "postgres-server",
        FlexibleServerArgs(
            resource_group_name=platform.resource_group_name,
            location=platform.location,
            server_name=platform.scope.apply(
                lambda scope: naming.postgres_server_name(settings.project, settings.stack, scope)
            ),
            settings=settings.postgres.flexible,
            vnet_id=network.postgres_vnet_id,
            subnet_id=network.postgres_subnet_id,
            private_dns_zone_id=network.postgres_private_dns_zone_id,
            password=generated.values[DB_PASSWORD],
            tags=tags,
            protect=settings.production,
            lock=settings.locks,
        ),
    )
NetworkPolicies(
    "netpol",
    NetworkPoliciesArgs(
        provider=cluster.provider,
        namespace=cluster.namespace,
        ingress_namespaces=settings.network.ingress_namespaces,
        https_egress=settings.network.aidbox_egress_cidrs,
        labels=labels,
        managed_database=settings.network.postgres_subnet if managed_db else None,
    ),
)

# An `ha` Vault before its one-time init cannot serve secrets yet (the store warns): nothing
# that reads the store (Aidbox, the in-cluster database's password) is declared until then.
if aidbox_binding.configured:
    spc = SecretProviderClass(
        "spc",
        SecretProviderClassArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            binding=aidbox_binding,
            secret_objects=secret_objects(settings.secrets),
            depends_on=driver_ready,
            labels=labels,
        ),
    )
    # The store lets this account read Aidbox's secrets; Aidbox runs as it.
    account = StoreServiceAccount(
        "aidbox-account",
        StoreServiceAccountArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            name=settings.aidbox.service_account,
            binding=aidbox_binding,
            labels=labels,
        ),
    )
    # The database's passwords, and nothing else, for the database's own account.
    database_spc = SecretProviderClass(
        "spc-database",
        SecretProviderClassArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            binding=database_binding,
            depends_on=driver_ready,
            spc_name=naming.DATABASE_SECRET_PROVIDER_CLASS,
            labels=labels,
        ),
    )
    database_account = StoreServiceAccount(
        "database-account",
        StoreServiceAccountArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            name=settings.postgres.service_account,
            binding=database_binding,
            labels=labels,
            resource_name="database-service-account",
        ),
    )
    if managed_db is not None:
        database = managed_db.database
    else:
        database = Postgres(
            "postgres",
            PostgresArgs(
                provider=cluster.provider,
                namespace=cluster.namespace,
                settings=settings.postgres,
                labels=labels,
                binding=database_binding,
                secret_provider_class=database_spc,
                service_account=database_account,
                protect=settings.production,
                image_registry=image_registry,
            ),
        ).database
    # Aidbox's own database role, created by the administrator before Aidbox starts.
    role = DatabaseRole(
        "aidbox-db-role",
        DatabaseRoleArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            database=database,
            image=settings.postgres.image,
            binding=database_binding,
            secret_provider_class=database_spc,
            service_account=database_account,
            labels=labels,
            image_registry=image_registry,
        ),
    )
    database = dataclasses.replace(database, ready=(*database.ready, role.job))
    aidbox = Aidbox(
        "aidbox",
        AidboxArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            settings=settings,
            binding=aidbox_binding,
            secret_provider_class=spc,
            service_account=account,
            database=database,
            labels=labels,
            image_registry=image_registry,
        ),
    )

pulumi.export("secretStore", settings.secret_store)
pulumi.export("clusterMode", mode)
pulumi.export("clusterName", cluster.cluster_name)
if platform is not None:
    pulumi.export("resourceGroupName", platform.resource_group_name)
if isinstance(cluster, AksCluster):
    # Never a kubeconfig: each user fetches their own (Entra ID, kubelogin; no static credential).
    pulumi.export(
        "getCredentialsCommand",
        pulumi.Output.all(platform.resource_group_name, cluster.cluster_name).apply(
            lambda v: get_credentials_command(v[0], v[1])
        ),
    )
elif isinstance(cluster, ExistingAksCluster):
    existing = settings.cluster.existing
    pulumi.export(
        "getCredentialsCommand", get_credentials_command(existing.resource_group, existing.name)
    )
if isinstance(network, Network):
    pulumi.export("vnetId", network.vnet_id)
    pulumi.export("postgresSubnetId", network.postgres_subnet_id)
if monitoring is not None:
    pulumi.export("logAnalyticsWorkspaceId", monitoring.workspace_id)
if registry is not None:
    pulumi.export("containerRegistry", registry.registry_name)
pulumi.export("namespace", cluster.namespace)
if aidbox_binding.configured:
    pulumi.export("aidboxService", aidbox.service_name)
    pulumi.export("aidboxUrl", aidbox.url)
    pulumi.export("secretProviderClass", spc.spc_name)
    pulumi.export("secrets", aidbox.secret_paths)
for key, value in aidbox_binding.exports.items():
    pulumi.export(key, value)
