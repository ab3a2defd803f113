"""Stack config -> one frozen, typed Settings object. All validation and defaults live here.

`parse_settings` is pure (a mapping in, Settings out) and raises SettingsError before any
resource exists; `load_settings` only gathers the raw values from Pulumi config.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pulumi

from . import naming
from .config_reader import NAMESPACE, Section, Sensitive, SettingsError, fail

SECRET_STORES = ("azure", "vault")
# Resource types whose fields Aidbox resolves secret references for.
SCOPE_RESOURCE_TYPES = ("Client", "IdentityProvider", "TokenIntrospector", "AidboxTopicDestination")
VAULT_MODES = ("dev", "external")
AZURE_IDENTITIES = ("kubelet", "workload", "servicePrincipal")
CSI_INSTALLS = ("helm", "aksAddon")
DEPLOYER_OFFICER = ("none", "User", "ServicePrincipal")
METRICS_MODES = ("none", "annotations", "serviceMonitor")
UNPINNED_TAGS = ("latest", "edge", "stable")
# Aidbox settings read from env at start-up that may come from the store (a synced Secret).
STORE_ENV = ("BOX_LICENSE", "BOX_ADMIN_PASSWORD", "BOX_ROOT_CLIENT_SECRET")
DEFAULT_AIDBOX_IMAGE = "healthsamurai/aidboxone:2602"
DEFAULT_POSTGRES_IMAGE = "postgres:17.6"
MIN_KUBERNETES = (1, 30)  # the CSI driver chart 1.6.0 needs it

AZURE_KEYS = ("keyVault", "azure")
VAULT_KEYS = ("vault",)
TOP_LEVEL_KEYS = (
    "secretStore",
    "secrets",
    "namespace",
    "production",
    "rotationPollInterval",
    "aidboxLicense",
    "aidbox",
    "cluster",
    "csi",
    "postgres",
    *AZURE_KEYS,
    *VAULT_KEYS,
)

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?$")
_SCOPE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR id
_K8S_QUANTITY = re.compile(r"^\d+(\.\d+)?(Mi|Gi|Ti|m)?$")


@dataclass(frozen=True)
class Scope:
    resource_type: str
    id: str | None = None

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.id}" if self.id else self.resource_type


@dataclass(frozen=True)
class SyncedSecret:
    """A Kubernetes Secret the CSI driver mirrors a mounted secret into."""

    name: str
    key: str


@dataclass(frozen=True)
class SecretSpec:
    name: str
    scope: Scope | None  # None: not for FHIR resources, only mirrored into a Kubernetes Secret
    value: Sensitive | None = None
    kubernetes_secret: SyncedSecret | None = None


@dataclass(frozen=True)
class ClusterSettings:
    node_count: int = 2
    vm_size: str = "Standard_D4s_v5"
    kubernetes_version: str = "1.34"


@dataclass(frozen=True)
class CsiSettings:
    install: str = "helm"
    rotation_poll_interval: str = "30s"
    metrics: str = "annotations"


@dataclass(frozen=True)
class AidboxSettings:
    image: str = DEFAULT_AIDBOX_IMAGE
    replicas: int = 1
    service_account: str = "aidbox"
    license: Sensitive | None = None
    legacy_secret_file_env: bool = False
    # env var -> name of a configured secret with a kubernetesSecret, read via secretKeyRef
    env_from_store: tuple[tuple[str, str], ...] = ()
    cpu_request: str = "500m"
    memory_request: str = "2Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"

    @property
    def has_license(self) -> bool:
        return self.license is not None or "BOX_LICENSE" in dict(self.env_from_store)


@dataclass(frozen=True)
class PostgresSettings:
    image: str = DEFAULT_POSTGRES_IMAGE
    storage_size: str = "20Gi"


@dataclass(frozen=True)
class KeyVaultSettings:
    name: str
    purge_protection: bool = True
    retention_days: int = 90
    # Give whoever runs `pulumi up` Key Vault Secrets Officer, to rotate by hand: the
    # principal's type (User or ServicePrincipal) must be stated, Azure checks it.
    deployer_officer: str = "none"


@dataclass(frozen=True)
class AzureSettings:
    key_vault: KeyVaultSettings
    identity: str = "kubelet"
    client_id: Sensitive | None = None
    client_secret: Sensitive | None = None
    object_id: str | None = None


@dataclass(frozen=True)
class VaultSettings:
    mode: str = "dev"
    address: str | None = None
    namespace: str | None = None
    ca_cert_file: str | None = None
    token: Sensitive | None = None
    deployer_source_ranges: tuple[str, ...] = ()
    helm_namespace: str = "vault"
    auth_mount_path: str = "kubernetes"
    kv_mount: str = "secret"
    secret_path: str = "aidbox/client"
    policy_name: str = "aidbox"
    policy_path: str = "secret/data/aidbox/*"
    role_name: str = "aidbox"
    bound_service_account: str = "aidbox"
    audience: str = "vault"

    @property
    def secret_api_path(self) -> str:
        """The KV v2 read path the CSI provider and the policy use."""
        return f"{self.kv_mount}/data/{self.secret_path}"


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    organization: str
    location: str
    secret_store: str
    namespace: str
    secrets: tuple[SecretSpec, ...]
    production: bool = False
    cluster: ClusterSettings = ClusterSettings()
    csi: CsiSettings = CsiSettings()
    aidbox: AidboxSettings = AidboxSettings()
    postgres: PostgresSettings = PostgresSettings()
    azure: AzureSettings | None = None
    vault: VaultSettings | None = None


def duration_seconds(text: str) -> int | None:
    """Seconds in a Go duration made of h/m/s parts ("30s", "2m", "1h30m"), None if not one."""
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_scope(text: Any, key: str) -> Scope:
    allowed = (
        "'<ResourceType>' or '<ResourceType>/<id>' with ResourceType one of "
        f"{list(SCOPE_RESOURCE_TYPES)} (the types Aidbox resolves secret references for)"
    )
    if not isinstance(text, str) or not text:
        fail(key, text, allowed)
    parts = text.split("/")
    if len(parts) > 2 or not all(parts):
        fail(key, text, allowed)
    if parts[0] not in SCOPE_RESOURCE_TYPES:
        fail(key, text, allowed)
    if len(parts) == 2 and not _SCOPE_ID.match(parts[1]):
        fail(key, text, "the id after '/' must be a FHIR id (1-64 of A-Z a-z 0-9 - .)")
    return Scope(parts[0], parts[1] if len(parts) == 2 else None)


def _image(section: Section, name: str, default: str) -> str:
    image = section.string(name, default)
    assert image is not None
    repo, _, tag = image.rpartition(":")
    if "@sha256:" in image:
        return image
    if not repo or "/" in tag or tag in UNPINNED_TAGS:
        fail(section.key(name), image, f"pin a tag or digest; not {list(UNPINNED_TAGS)}")
    return image


def _quantity(section: Section, name: str, default: str) -> str:
    value = section.string(name, default)
    assert value is not None
    if not _K8S_QUANTITY.match(value):
        fail(section.key(name), value, "a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")
    return value


def _secrets(top: Section) -> tuple[SecretSpec, ...]:
    section = top.section("secrets")
    if not section.data:
        fail("secrets", top.data.get("secrets"), "at least one secret: {<name>: {scope: ...}}")
    specs = []
    for name in section.data:
        if not naming.is_valid_secret_name(name):
            fail(f"secrets.{name}", name, f"secret names are {naming.SECRET_NAME_RULE}")
        entry = section.section(name)
        entry.reject_unknown(("scope", "value", "kubernetesSecret"))
        scope = None
        if entry.has("scope") or not entry.has("kubernetesSecret"):
            scope = parse_scope(entry.data.get("scope"), entry.key("scope"))
        synced = None
        if entry.has("kubernetesSecret"):
            target = entry.section("kubernetesSecret")
            target.reject_unknown(("name", "key"))
            synced = SyncedSecret(
                name=_k8s_name(target, "name", None),
                key=target.string("key", name) or name,
            )
        specs.append(SecretSpec(name, scope, entry.sensitive("value"), synced))
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        if spec.kubernetes_secret is None:
            continue
        slot = (spec.kubernetes_secret.name, spec.kubernetes_secret.key)
        if slot in seen:
            fail(
                f"secrets.{spec.name}.kubernetesSecret",
                f"{slot[0]}/{slot[1]}",
                f"already used by secrets.{seen[slot]}; each synced key must be unique",
            )
        seen[slot] = spec.name
    return tuple(specs)


def _k8s_name(section: Section, name: str, default: str | None) -> str:
    value = section.string(name, default)
    if value is None:
        fail(section.key(name), None, f"required: {naming.K8S_NAME_RULE}")
    if not naming.is_valid_k8s_name(value):
        fail(section.key(name), value, naming.K8S_NAME_RULE)
    return value


def _cluster(top: Section) -> ClusterSettings:
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


def _csi(top: Section, store: str) -> CsiSettings:
    s = top.section("csi")
    s.reject_unknown(("install", "metrics"))
    interval = top.string("rotationPollInterval", CsiSettings.rotation_poll_interval)
    assert interval is not None
    seconds = duration_seconds(interval)
    if seconds is None or not 10 <= seconds <= 86400:
        fail(
            "rotationPollInterval",
            interval,
            "a duration such as 30s, 2m or 1h30m (h, m, s parts), from 10s to 24h",
        )
    install = s.string("install", CsiSettings.install, choices=CSI_INSTALLS)
    if install == "aksAddon" and store != "azure":
        fail(s.key("install"), install, "the AKS add-on carries only the Azure provider: use helm")
    return CsiSettings(
        install=install or CsiSettings.install,
        rotation_poll_interval=interval,
        metrics=s.string("metrics", CsiSettings.metrics, choices=METRICS_MODES)
        or CsiSettings.metrics,
    )


def _aidbox(top: Section, license: Sensitive | None) -> AidboxSettings:
    s = top.section("aidbox")
    s.reject_unknown(
        (
            "image",
            "replicas",
            "serviceAccount",
            "legacySecretFileEnv",
            "envFromStore",
            "cpuRequest",
            "memoryRequest",
            "cpuLimit",
            "memoryLimit",
        )
    )
    d = AidboxSettings
    return AidboxSettings(
        image=_image(s, "image", d.image),
        replicas=s.integer("replicas", d.replicas, minimum=1, maximum=20),
        service_account=_k8s_name(s, "serviceAccount", d.service_account),
        license=license,
        legacy_secret_file_env=s.boolean("legacySecretFileEnv", d.legacy_secret_file_env),
        env_from_store=tuple(
            (env, s.section("envFromStore").required_string(env, "a secret name"))
            for env in s.section("envFromStore").data
        ),
        cpu_request=_quantity(s, "cpuRequest", d.cpu_request),
        memory_request=_quantity(s, "memoryRequest", d.memory_request),
        cpu_limit=_quantity(s, "cpuLimit", d.cpu_limit),
        memory_limit=_quantity(s, "memoryLimit", d.memory_limit),
    )


def _check_env_from_store(aidbox: AidboxSettings, secrets: tuple[SecretSpec, ...]) -> None:
    synced = {spec.name for spec in secrets if spec.kubernetes_secret}
    for env, name in aidbox.env_from_store:
        key = f"aidbox.envFromStore.{env}"
        if env not in STORE_ENV:
            fail(f"aidbox.envFromStore.{env}", name, f"env var must be one of {list(STORE_ENV)}")
        if name not in synced:
            fail(key, name, "a secret in `secrets` with a kubernetesSecret (env needs a Secret)")
        if env == "BOX_LICENSE" and aidbox.license is not None:
            fail(key, name, "aidboxLicense is set too: keep the license in one place")


def _postgres(top: Section) -> PostgresSettings:
    s = top.section("postgres")
    s.reject_unknown(("image", "storageSize"))
    return PostgresSettings(
        image=_image(s, "image", PostgresSettings.image),
        storage_size=_quantity(s, "storageSize", PostgresSettings.storage_size),
    )


def _azure(
    top: Section, project: str, stack: str, organization: str, install: str
) -> AzureSettings:
    kv = top.section("keyVault")
    kv.reject_unknown(("name", "purgeProtection", "retentionDays", "deployerOfficer"))
    name = kv.string("name") or naming.key_vault_name(project, stack, organization)
    if not naming.is_valid_key_vault_name(name):
        fail(kv.key("name"), name, f"Key Vault names are {naming.KEY_VAULT_NAME_RULE}")
    az = top.section("azure")
    az.reject_unknown(("identity", "clientId", "clientSecret", "objectId"))
    identity = az.string("identity", "kubelet", choices=AZURE_IDENTITIES) or "kubelet"
    client_id, client_secret = az.sensitive("clientId"), az.sensitive("clientSecret")
    object_id = az.string("objectId")
    if identity == "servicePrincipal" and not (client_id and client_secret and object_id):
        fail(
            az.key("identity"),
            identity,
            "servicePrincipal needs azure.clientId and azure.clientSecret (set with "
            "`pulumi config set --secret --path azure.clientSecret ...`) and azure.objectId "
            "(the service principal's object id, granted read on the vault)",
        )
    if identity != "servicePrincipal" and (client_id or client_secret or object_id):
        fail(
            az.key("identity"),
            identity,
            "azure.clientId/clientSecret/objectId need servicePrincipal",
        )
    if install == "aksAddon" and identity != "kubelet":
        fail(
            az.key("identity"),
            identity,
            "with csi.install aksAddon the add-on's own managed identity reads the vault: "
            "leave azure.identity at kubelet, or install the driver with helm",
        )
    return AzureSettings(
        key_vault=KeyVaultSettings(
            name=name,
            purge_protection=kv.boolean("purgeProtection", True),
            retention_days=kv.integer("retentionDays", 90, minimum=7, maximum=90),
            deployer_officer=kv.string("deployerOfficer", "none", choices=DEPLOYER_OFFICER)
            or "none",
        ),
        identity=identity,
        client_id=client_id,
        client_secret=client_secret,
        object_id=object_id,
    )


def _policy_path_problem(path: str, v: VaultSettings) -> str | None:
    """Why a policy path would grant more than reading this project's secret, or None."""
    prefix = f"{v.kv_mount}/data/"
    if not path.startswith(prefix) or "+" in path or "*" in path[:-1]:
        return f"a path under {prefix} with at most one trailing '*'"
    covered = path[:-1] if path.endswith("*") else path
    if not v.secret_api_path.startswith(covered) or covered == prefix:
        return f"a path that covers {v.secret_api_path} and no whole mount"
    return None


def _vault(top: Section, namespace: str, aidbox: AidboxSettings) -> VaultSettings:
    s = top.section("vault")
    s.reject_unknown(
        (
            "mode",
            "address",
            "namespace",
            "caCertFile",
            "token",
            "deployerSourceRanges",
            "helmNamespace",
            "authMountPath",
            "kvMount",
            "secretPath",
            "policyName",
            "policyPath",
            "policyCapabilities",
            "roleName",
            "boundServiceAccount",
            "audience",
        )
    )
    d = VaultSettings
    mode = s.string("mode", d.mode, choices=VAULT_MODES) or d.mode
    path_names = {"authMountPath": d.auth_mount_path, "kvMount": d.kv_mount}
    paths = {}
    for key, default in path_names.items():
        value = s.string(key, default) or default
        if not re.match(r"^[A-Za-z0-9_-]+$", value):
            fail(s.key(key), value, "a single path segment: letters, digits, '-', '_'")
        paths[key] = value
    secret_path = s.string("secretPath", d.secret_path) or d.secret_path
    if not re.match(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", secret_path):
        fail(s.key("secretPath"), secret_path, "a KV path such as aidbox/client (no mount)")
    v = VaultSettings(
        mode=mode,
        address=s.string("address"),
        namespace=s.string("namespace"),
        ca_cert_file=s.string("caCertFile"),
        token=s.sensitive("token"),
        deployer_source_ranges=s.string_list("deployerSourceRanges"),
        helm_namespace=_k8s_name(s, "helmNamespace", d.helm_namespace),
        auth_mount_path=paths["authMountPath"],
        kv_mount=paths["kvMount"],
        secret_path=secret_path,
        policy_name=_k8s_name(s, "policyName", d.policy_name),
        role_name=_k8s_name(s, "roleName", d.role_name),
        bound_service_account=_k8s_name(s, "boundServiceAccount", aidbox.service_account),
        audience=s.string("audience", d.audience) or d.audience,
    )
    parent = secret_path.rpartition("/")[0]
    default_policy = f"{v.kv_mount}/data/{parent}/*" if parent else v.secret_api_path
    policy_path = s.string("policyPath") or default_policy
    problem = _policy_path_problem(policy_path, v)
    if problem:
        fail(s.key("policyPath"), policy_path, f"read-only access needs {problem}")
    capabilities = s.string_list("policyCapabilities") or ("read",)
    if capabilities != ("read",):
        fail(s.key("policyCapabilities"), list(capabilities), "only ['read']: Aidbox only reads")
    if v.bound_service_account != aidbox.service_account:
        fail(
            s.key("boundServiceAccount"),
            v.bound_service_account,
            f"must be the ServiceAccount the Aidbox pod runs as ({aidbox.service_account!r}), "
            f"in namespace {namespace!r}",
        )
    if mode == "dev":
        _dev_vault_checks(s, v)
    else:
        if not v.address or not re.match(r"^https?://[^/\s]+/?$", v.address):
            fail(
                s.key("address"), v.address, "external mode needs the Vault URL, https://host:8200"
            )
        if v.token is None:
            fail(
                s.key("token"),
                None,
                "external mode needs a token: pulumi config set --secret --path vault.token ...",
            )
    return replace(v, policy_path=policy_path)


def _dev_vault_checks(s: Section, v: VaultSettings) -> None:
    if not v.deployer_source_ranges:
        fail(
            s.key("deployerSourceRanges"),
            None,
            "dev mode exposes the Vault API to the deployer only: list your CIDRs, "
            "e.g. ['203.0.113.7/32']",
        )
    for cidr in v.deployer_source_ranges:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            fail(s.key("deployerSourceRanges"), cidr, "a CIDR such as 203.0.113.7/32")
        if network.prefixlen == 0:
            fail(s.key("deployerSourceRanges"), cidr, "a range narrower than the whole internet")
    for key in ("address", "token", "namespace", "caCertFile"):
        if s.has(key):
            fail(s.key(key), "(set)", "only for vault.mode external; dev mode runs its own Vault")


def _production_checks(s: Settings, top: Section) -> None:
    problems = []
    if s.aidbox.replicas < 2:
        problems.append(("aidbox.replicas", s.aidbox.replicas, "at least 2 on production"))
    if s.azure and not s.azure.key_vault.purge_protection:
        problems.append(("keyVault.purgeProtection", False, "must stay on for production"))
    if s.vault and s.vault.mode == "dev":
        problems.append(("vault.mode", "dev", "dev mode keeps data in memory: use external"))
    if s.azure and s.azure.identity == "servicePrincipal":
        problems.append(
            ("azure.identity", "servicePrincipal", "use kubelet or workload on production")
        )
    if not s.aidbox.has_license:
        problems.append(("aidboxLicense", None, "required on production (set it with --secret)"))
    for key, value, allowed in problems:
        fail(key, value, allowed)


def parse_settings(
    raw: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    organization: str = "organization",
    location: str | None = "westeurope",
    secret_keys: frozenset[str] = frozenset(),
) -> Settings:
    """`raw` maps config keys (without the `aidbox-secrets:` prefix) to JSON-decoded values."""
    if not location or not re.match(r"^[a-z0-9]+$", location):
        raise SettingsError(
            f"azure-native:location = {location!r} is not valid: an Azure region name such as "
            "westeurope (pulumi config set azure-native:location westeurope)"
        )
    top = Section("", raw)
    top.reject_unknown(TOP_LEVEL_KEYS)
    store = top.string("secretStore", choices=SECRET_STORES)
    if store is None:
        fail("secretStore", None, f"required: one of {list(SECRET_STORES)}")
    other = VAULT_KEYS if store == "azure" else AZURE_KEYS
    for key in other:
        if top.has(key):
            fail(key, "(set)", f"belongs to the other secret store; secretStore is {store!r}")
    namespace = _k8s_name(top, "namespace", "default")
    # Sensitive leaves are allowed only under keys Pulumi holds as secrets.
    secret_top = Section("", raw, secret=True)

    def section_of(key: str) -> Section:
        return secret_top if key in secret_keys else top

    aidbox = _aidbox(top, section_of("aidboxLicense").sensitive("aidboxLicense"))
    csi = _csi(top, store)
    secrets = _secrets(section_of("secrets"))
    _check_env_from_store(aidbox, secrets)
    settings = Settings(
        project=project,
        stack=stack,
        organization=organization,
        location=location,
        secret_store=store,
        namespace=namespace,
        secrets=secrets,
        production=top.boolean("production", False),
        cluster=_cluster(top),
        csi=csi,
        aidbox=aidbox,
        postgres=_postgres(top),
        azure=_azure(section_of("azure"), project, stack, organization, csi.install)
        if store == "azure"
        else None,
        vault=_vault(section_of("vault"), namespace, aidbox) if store == "vault" else None,
    )
    if settings.production:
        _production_checks(settings, top)
    return settings


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def load_settings() -> Settings:
    """Read this stack's config. Raises SettingsError (a clean RunError) on bad input."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{NAMESPACE}:"
    names = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    raw, secret_keys = {}, set()
    for full in sorted(n for n in names if n.startswith(prefix)):
        key = full[len(prefix) :]
        raw[key] = _decode(runtime_config.get_config(full))
        if runtime_config.is_config_secret(full):
            secret_keys.add(key)
    settings = parse_settings(
        raw,
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        organization=pulumi.get_organization(),
        location=runtime_config.get_config("azure-native:location"),
        secret_keys=frozenset(secret_keys),
    )
    if not settings.aidbox.has_license:
        pulumi.log.warn(
            f"{NAMESPACE}:aidboxLicense is not set: Aidbox will not start without a license "
            f"(pulumi config set --secret aidboxLicense <license>)"
        )
    return settings


__all__ = ["Settings", "SettingsError", "load_settings", "parse_settings"]
