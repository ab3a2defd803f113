"""The whole stack's settings: every section parsed, cross-checked, production rules applied.

`parse_settings` is pure (a mapping in, Settings out) and raises SettingsError before any
resource exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .. import naming
from .aidbox import AidboxSettings, check_env_from_store, check_tls_source, parse_aidbox
from .azure import AzureSettings, parse_azure
from .cluster import ClusterSettings, parse_cluster
from .csi import CsiSettings, parse_csi
from .egress import public_host_problem
from .locks import parse_locks
from .managed import with_managed
from .monitoring import MonitoringSettings, parse_monitoring
from .network import SUBNET_ID_RULE, NetworkSettings, parse_network
from .postgres import PostgresSettings, parse_postgres
from .production import production_checks
from .reader import Section, SettingsError, fail
from .registry import RegistrySettings, check_imported, parse_registry
from .secrets import SecretSpec, parse_secrets
from .values import AZURE_LOCATION_RULE, azure_location, k8s_name
from .vault import VaultSettings, parse_vault
from .vault_rules import check_vault_cluster

SECRET_STORES = ("azure", "vault")
AZURE_KEYS = ("keyVault", "azure")
VAULT_KEYS = ("vault",)
# Keys that hold a string, number or boolean (the rest are objects).
SCALAR_KEYS = frozenset(
    {"secretStore", "namespace", "production", "rotationPollInterval", "aidboxLicense", "locks"}
)
TOP_LEVEL_KEYS = (
    "secretStore",
    "secrets",
    "namespace",
    "production",
    "rotationPollInterval",
    "aidboxLicense",
    "aidbox",
    "cluster",
    "network",
    "monitoring",
    "csi",
    "postgres",
    "registry",
    "locks",
    *AZURE_KEYS,
    *VAULT_KEYS,
)


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    location: str
    secret_store: str
    namespace: str
    secrets: tuple[SecretSpec, ...]
    production: bool = False
    locks: bool = False  # CanNotDelete locks on the state of record
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    csi: CsiSettings = field(default_factory=CsiSettings)
    aidbox: AidboxSettings = field(default_factory=AidboxSettings)
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    azure: AzureSettings | None = None
    vault: VaultSettings | None = None


def check_cluster_mode(s: Settings, top: Section) -> None:
    """What a cluster this program does not create cannot give: Azure (kubeconfig), or the
    program's own network (existingAks: the subnets must be named)."""
    mode = s.cluster.mode
    if mode == "kubeconfig":
        if s.secret_store == "azure":
            fail(
                "secretStore",
                "azure",
                "vault with cluster.mode kubeconfig: the Azure store needs Azure (a Key Vault "
                "and an AKS identity that reads it), which kubeconfig mode does not touch; "
                "use cluster.mode aks or existingAks for Key Vault",
            )
        if s.vault and s.vault.mode == "ha":
            fail(
                "vault.mode",
                "ha",
                "dev or external with cluster.mode kubeconfig: an ha Vault unseals with an "
                "Azure Key Vault key through AKS workload identity",
            )
        if s.aidbox.host is not None:
            fail(
                "aidbox.host",
                s.aidbox.host,
                "not with cluster.mode kubeconfig: the Ingress is served by AKS's application "
                "routing add-on; expose the aidbox Service the way your cluster does",
            )
    if mode != "existingAks":
        return
    network = top.section("network")
    key_vault = s.secret_store == "azure" or (s.vault is not None and s.vault.mode == "ha")
    if not key_vault and s.network.key_vault_private_dns_zone_id is not None:
        network.fail(
            "keyVaultPrivateDnsZoneId",
            s.network.key_vault_private_dns_zone_id,
            "only when the program creates a Key Vault (secretStore azure or vault.mode ha): "
            "there is no private endpoint to register",
        )
    if s.postgres.flexible is None and s.network.postgres_private_dns_zone_id is not None:
        network.fail(
            "postgresPrivateDnsZoneId",
            s.network.postgres_private_dns_zone_id,
            "only with postgres.mode azureFlexible: there is no managed database to register",
        )
    if key_vault and s.network.private_endpoint_subnet_id is None:
        network.fail(
            "privateEndpointSubnetId",
            None,
            f"required with cluster.mode existingAks: the Key Vault is reached only through "
            f"a private endpoint, in a subnet of the cluster's network ({SUBNET_ID_RULE})",
        )
    if s.postgres.flexible is not None:
        for name in ("postgresSubnetId", "postgresSubnet"):
            if not network.has(name):
                network.fail(
                    name,
                    None,
                    "required with cluster.mode existingAks and postgres.mode azureFlexible: "
                    "a subnet of the cluster's network delegated to "
                    "Microsoft.DBforPostgreSQL/flexibleServers (its id, and its range for the "
                    "NetworkPolicy)",
                )


def parse_settings(
    raw: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    location: str | None = "westeurope",
    secret_keys: frozenset[str] = frozenset(),
    today: date | None = None,
    registry_bootstrap: bool = False,
) -> Settings:
    """`raw` maps config keys (without the `aidbox-secrets:` prefix) to JSON-decoded values.
    `today` (default: the clock) is what production's Kubernetes minor is checked against.
    `registry_bootstrap`: scripts/import-images.sh creates the registry with a targeted `up`
    before any image is in it; only then is registry.imported not checked."""
    region = azure_location(location)
    cluster_raw = raw.get("cluster")
    azure_free = isinstance(cluster_raw, Mapping) and cluster_raw.get("mode") == "kubeconfig"
    if region is None and not (location is None and azure_free):
        raise SettingsError(
            f"azure-native:location = {location!r} is not valid: {AZURE_LOCATION_RULE}"
        )
    region = region or ""  # kubeconfig mode: no Azure region
    top = Section("", raw, secret_keys=secret_keys)
    top.reject_unknown(TOP_LEVEL_KEYS)
    store = top.string("secretStore", choices=SECRET_STORES)
    if store is None:
        fail("secretStore", None, f"required: one of {list(SECRET_STORES)}")
    other = VAULT_KEYS if store == "azure" else AZURE_KEYS
    for key in other:
        if top.has(key):
            fail(key, "(set)", f"belongs to the other secret store; secretStore is {store!r}")
    namespace = k8s_name(top, "namespace", "default")
    if naming.is_system_namespace(namespace):
        top.fail("namespace", namespace, f"Aidbox needs {naming.SYSTEM_NAMESPACE_RULE}")
    # Sensitive leaves are allowed only under keys Pulumi holds as secrets.
    secret_top = Section("", raw, secret=True, secret_keys=secret_keys)

    def section_of(key: str) -> Section:
        return secret_top if key in secret_keys else top

    aidbox = parse_aidbox(top, section_of("aidboxLicense").sensitive("aidboxLicense"))
    csi = parse_csi(top, store, "kubeconfig" if azure_free else "aks")
    production = top.boolean("production", False)
    env_only = frozenset(name for _, name in aidbox.env_from_store)
    secrets = with_managed(parse_secrets(section_of("secrets"), production, env_only))
    check_env_from_store(aidbox, secrets)
    check_tls_source(aidbox, csi.install)
    # The kubeconfig is a secret where it is given inline: read `cluster` as secret then.
    cluster = parse_cluster(section_of("cluster"), region, production)
    settings = Settings(
        project=project,
        stack=stack,
        location=region,
        secret_store=store,
        namespace=namespace,
        secrets=secrets,
        production=production,
        locks=parse_locks(top, production=production, cluster_mode=cluster.mode),
        cluster=cluster,
        network=parse_network(top, cluster.mode, production),
        monitoring=parse_monitoring(top, cluster.mode),
        csi=csi,
        aidbox=aidbox,
        postgres=parse_postgres(top, region, production, azure=cluster.mode != "kubeconfig"),
        registry=parse_registry(
            top,
            default_mode="acr" if production and cluster.mode == "aks" else "upstream",
            cluster_mode=cluster.mode,
        ),
        azure=parse_azure(section_of("azure"), csi.install) if store == "azure" else None,
        vault=parse_vault(section_of("vault"), namespace, aidbox) if store == "vault" else None,
    )
    if settings.postgres.service_account == aidbox.service_account:
        fail(
            "postgres.serviceAccount",
            settings.postgres.service_account,
            f"an account other than Aidbox's ({aidbox.service_account!r}): the store lets each "
            "read only its own secrets",
        )
    v = settings.vault
    # The chart keeps Vault pods on separate nodes (required anti-affinity), in the user pool
    # (the system pool takes critical add-ons only): the autoscaler adds nodes up to its max.
    check_cluster_mode(settings, top)
    if host := public_host_problem(settings.network.egress, settings.aidbox.host):
        fail(*host)
    if v is not None:
        check_vault_cluster(v, settings.cluster, top)
    pool = settings.cluster.user_pool
    if settings.cluster.mode == "aks" and v and v.mode == "ha" and v.replicas > pool.max_count:
        fail(
            "vault.replicas",
            v.replicas,
            f"at most cluster.userPool.maxCount ({pool.max_count}): each Vault "
            "replica needs a node of its own",
        )
    if settings.production:
        production_checks(settings, top, today or date.today())
    if not registry_bootstrap:
        check_imported(settings)
    return settings
