"""Aidbox on AKS, reading secrets mounted by the Secrets Store CSI Driver from Azure Key Vault
or HashiCorp Vault. Reads settings, composes the components, exports the stack outputs."""

import pulumi

from components import naming
from components.aidbox.generated import GeneratedSecrets
from components.azure.aks import AksCluster
from components.azure.existing_aks import ExistingAksCluster
from components.azure.kubeconfig import get_credentials_command
from components.azure.network import Network
from components.azure.postgres_flexible import FlexibleServer, FlexibleServerArgs
from components.kubernetes.csi import CsiDriver, CsiDriverArgs
from components.kubernetes.kubeconfig_cluster import KubeconfigCluster
from components.kubernetes.metrics import (
    AZURE_PROVIDER_ADDON,
    AZURE_PROVIDER_HELM,
    DRIVER,
    CsiMetrics,
    CsiMetricsArgs,
)
from components.kubernetes.network_policies import NetworkPolicies, NetworkPoliciesArgs
from components.kubernetes.prometheus import PrometheusScrapeSettings
from components.program.cluster import build_cluster
from components.program.workload import build_workload
from components.settings import load_settings
from components.settings.managed import (
    AIDBOX_READER,
    DATABASE_READER,
    DB_PASSWORD,
    store_readers,
)
from components.stores.azure import AzureKeyVaultStore, AzureKeyVaultStoreArgs
from components.stores.parameters import secret_objects
from components.stores.vault import HashiCorpVaultStore, HashiCorpVaultStoreArgs

settings = load_settings()
environment = "production" if settings.production else "non-production"
tags = {"app": settings.project, "stack": settings.stack, "environment": environment}
labels = {"app.kubernetes.io/part-of": settings.project, "aidbox-secrets/environment": environment}
addon = settings.csi.install == "aksAddon"

mode = settings.cluster.mode
parts = build_cluster(settings, tags)
platform, monitoring, network, cluster = (
    parts.platform,
    parts.monitoring,
    parts.network,
    parts.cluster,
)
image_registry = parts.image_registry
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
    workload = build_workload(
        settings,
        provider=cluster.provider,
        namespace=cluster.namespace,
        aidbox_binding=aidbox_binding,
        database_binding=database_binding,
        managed_database=managed_db.database if managed_db else None,
        driver_ready=driver_ready,
        labels=labels,
        image_registry=image_registry,
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
if parts.registry is not None:
    pulumi.export("containerRegistry", parts.registry.registry_name)
pulumi.export("namespace", cluster.namespace)
if aidbox_binding.configured:
    pulumi.export("aidboxService", workload.aidbox.service_name)
    pulumi.export("aidboxUrl", workload.aidbox.url)
    pulumi.export("secretProviderClass", workload.spc.spc_name)
    pulumi.export("secrets", workload.aidbox.secret_paths)
for key, value in aidbox_binding.exports.items():
    pulumi.export(key, value)
