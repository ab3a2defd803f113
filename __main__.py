"""Aidbox on AKS, reading secrets mounted by the Secrets Store CSI Driver from Azure Key Vault
or HashiCorp Vault. Reads settings, composes the components, exports the stack outputs."""

import pulumi

from components import naming
from components.aidbox.component import Aidbox, AidboxArgs
from components.aidbox.postgres import Postgres, PostgresArgs
from components.azure.aks import AksCluster, AksClusterArgs, KeyVaultAddon
from components.azure.platform import Platform, PlatformArgs
from components.kubernetes.csi import CsiDriver, CsiDriverArgs
from components.kubernetes.metrics import (
    AZURE_PROVIDER_ADDON,
    AZURE_PROVIDER_HELM,
    DRIVER,
    CsiMetrics,
    CsiMetricsArgs,
)
from components.kubernetes.secret_provider_class import SecretProviderClass, SecretProviderClassArgs
from components.settings import load_settings
from components.stores.azure import AzureKeyVaultStore, AzureKeyVaultStoreArgs
from components.stores.parameters import secret_objects
from components.stores.vault import HashiCorpVaultStore, HashiCorpVaultStoreArgs

settings = load_settings()
environment = "production" if settings.production else "non-production"
tags = {"app": settings.project, "stack": settings.stack, "environment": environment}
labels = {"app.kubernetes.io/part-of": settings.project, "aidbox-secrets/environment": environment}
addon = settings.csi.install == "aksAddon"

platform = Platform(
    "platform",
    PlatformArgs(
        resource_group_name=naming.resource_group_name(settings.project, settings.stack),
        location=settings.location,
        tags=tags,
    ),
)
cluster = AksCluster(
    "aks",
    AksClusterArgs(
        resource_group_name=platform.resource_group_name,
        location=platform.location,
        cluster_name=naming.cluster_name(settings.project, settings.stack),
        node_count=settings.cluster.node_count,
        vm_size=settings.cluster.vm_size,
        kubernetes_version=settings.cluster.kubernetes_version,
        tags=tags,
        namespace=settings.namespace,
        # Workload identity: Aidbox reading Key Vault, or an `ha` Vault unsealing with its key.
        workload_identity=(settings.azure is not None and settings.azure.identity == "workload")
        or (settings.vault is not None and settings.vault.mode == "ha"),
        key_vault_addon=KeyVaultAddon(settings.csi.rotation_poll_interval) if addon else None,
        protect=settings.production,
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
        ),
    )
    driver_ready = [driver.release]

if settings.secret_store == "azure":
    store = AzureKeyVaultStore(
        "store", AzureKeyVaultStoreArgs(settings, platform=platform, cluster=cluster, tags=tags)
    )
else:
    store = HashiCorpVaultStore(
        "store", HashiCorpVaultStoreArgs(settings, cluster=cluster, platform=platform, tags=tags)
    )

if settings.csi.metrics == "serviceMonitor":
    azure_provider = AZURE_PROVIDER_ADDON if addon else AZURE_PROVIDER_HELM
    CsiMetrics(
        "metrics",
        CsiMetricsArgs(
            provider=cluster.provider,
            targets=[DRIVER, azure_provider] if settings.azure else [DRIVER],
            depends_on=driver_ready,
        ),
    )

postgres = Postgres(
    "postgres",
    PostgresArgs(
        provider=cluster.provider,
        namespace=cluster.namespace,
        settings=settings.postgres,
        labels=labels,
        protect=settings.production,
    ),
)
# An `ha` Vault before its one-time init cannot serve secrets yet (the store warns).
if store.binding.configured:
    spc = SecretProviderClass(
        "spc",
        SecretProviderClassArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            binding=store.binding,
            secret_objects=secret_objects(settings.secrets),
            depends_on=driver_ready,
        ),
    )
    aidbox = Aidbox(
        "aidbox",
        AidboxArgs(
            provider=cluster.provider,
            namespace=cluster.namespace,
            settings=settings,
            binding=store.binding,
            secret_provider_class=spc,
            postgres=postgres,
            labels=labels,
        ),
    )

pulumi.export("secretStore", settings.secret_store)
pulumi.export("resourceGroupName", platform.resource_group_name)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("namespace", cluster.namespace)
if store.binding.configured:
    pulumi.export("aidboxService", aidbox.service_name)
    pulumi.export("aidboxUrl", aidbox.url)
    pulumi.export("secretProviderClass", spc.spc_name)
    pulumi.export("secrets", aidbox.secret_paths)
for key, value in store.binding.exports.items():
    pulumi.export(key, value)
