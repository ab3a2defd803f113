"""`vault`: the HashiCorp Vault store, its paths, policy and Kubernetes auth role."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from .. import naming
from .aidbox import AidboxSettings
from .reader import Section, Sensitive, fail
from .values import (
    VAULT_PATH_RULE,
    cidrs,
    http_url_problem,
    is_vault_path,
    k8s_name,
    k8s_object_name,
    vault_name,
)
from .vault_snapshots import SnapshotSettings, parse_snapshots

VAULT_MODES = ("dev", "ha", "external")
HA_MAX_REPLICAS = 9
# Azure regions without availability zones (a small known list; `az account list-locations
# --query "[?availabilityZoneMappings==null].name"` has the current one): an `ha` Vault on
# production spreads its Raft voters over zones, which these regions cannot give.
REGIONS_WITHOUT_ZONES = frozenset(
    {
        "westus",
        "northcentralus",
        "westcentralus",
        "canadaeast",
        "ukwest",
        "francesouth",
        "germanynorth",
        "norwaywest",
        "switzerlandwest",
        "uaecentral",
        "southafricawest",
        "australiasoutheast",
        "australiacentral2",
        "southindia",
        "westindia",
        "koreasouth",
    }
)
# Mount paths Vault keeps for itself (system backend, token auth, per-token storage, identity).
RESERVED_MOUNTS = {
    "authMountPath": ("token",),
    "kvMount": ("sys", "auth", "cubbyhole", "identity"),
}
DEV_KV_MOUNT = "secret"  # the KV v2 engine a dev-mode server mounts; the program mounts none


@dataclass(frozen=True)
class VaultSettings:
    mode: str = "dev"
    address: str | None = None
    namespace: str | None = None
    ca_cert_file: str | None = None
    token: Sensitive | None = None
    replicas: int = 3  # ha mode: Raft voters, one per node
    helm_namespace: str = "vault"
    auth_mount_path: str = "kubernetes"
    kv_mount: str = "secret"
    secret_path: str = "aidbox/client"
    policy_name: str = "aidbox"
    # None: each reader's policy names exactly the entries it reads. Set: Aidbox's policy
    # reads this glob instead (an older stack's choice; it covers the database's entries too).
    policy_path: str | None = None
    role_name: str = "aidbox"
    bound_service_account: str = "aidbox"
    audience: str = "vault"
    # One `pulumi up` of an older stack: seed the per-secret entries from its single entry.
    seed_from_combined_entry: bool = False
    # external: where the Vault's token reviews come from (the API server must admit them).
    egress_cidrs: tuple[str, ...] = ()
    # ha: scheduled Raft snapshots to Blob storage (None in the other modes).
    snapshots: SnapshotSettings | None = None
    # One `pulumi up` of a stack that kept the signing keys in three entries: seed the key
    # bundle from their current values (a rotation included), so sessions survive the upgrade.
    seed_key_bundle_from_entries: bool = False

    @property
    def secret_api_path(self) -> str:
        """The KV v2 read path of the folder that holds one entry per secret."""
        return f"{self.kv_mount}/data/{self.secret_path}"

    def entry_path(self, name: str) -> str:
        """A secret's own KV v2 entry (`vault kv put <mount>/<this> value=...`)."""
        return f"{self.secret_path}/{name}"

    def entry_api_path(self, name: str) -> str:
        """The read path of a secret's entry, for the CSI provider."""
        return f"{self.kv_mount}/data/{self.entry_path(name)}"


# The key of the one value in each secret's KV entry.
KV_VALUE_KEY = "value"
API_PATH_RULE = (
    "Vault's base URL, without its API path: the Vault client adds /v1/... to the address's "
    "path itself, so this one would send requests to .../v1/v1/... (e.g. "
    "https://vault.example:8200, or a reverse proxy's prefix such as https://host/vault)"
)


def api_path_problem(address: str) -> str | None:
    """Why the Vault client would double the API path of `address` (it joins each request's
    /v1/... onto the address's path), or None. A prefix with a `v1` inside (the API server's
    service proxy, /api/v1/.../proxy) is fine; one that starts or ends with `v1` is Vault's own
    API path pasted in. Pure."""
    segments = [part for part in urlsplit(address).path.lower().split("/") if part]
    if segments and "v1" in (segments[0], segments[-1]):
        return API_PATH_RULE
    return None


def _policy_path_problem(path: str, v: VaultSettings) -> str | None:
    """Why a policy path would grant more than reading this project's secrets, or None."""
    prefix = f"{v.kv_mount}/data/"
    if not path.startswith(prefix) or "+" in path or "*" in path[:-1] or not path.endswith("*"):
        return f"a path under {prefix} ending in one '*'"
    covered = path[:-1]
    if not f"{v.secret_api_path}/".startswith(covered) or covered == prefix:
        return f"a path that covers {v.secret_api_path}/* and no whole mount"
    return None


def parse_vault(top: Section, namespace: str, aidbox: AidboxSettings) -> VaultSettings:
    s = top.section("vault")
    s.reject_unknown(
        (
            "mode",
            "address",
            "namespace",
            "caCertFile",
            "token",
            "replicas",
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
            "seedFromCombinedEntry",
            "egressCidrs",
            "snapshots",
            "seedKeyBundleFromEntries",
        )
    )
    d = VaultSettings
    if s.has("deployerSourceRanges"):
        s.fail(
            "deployerSourceRanges",
            s.data["deployerSourceRanges"],
            "removed: Vault has no public endpoint any more; the deployer reaches it through "
            "the Kubernetes API server's service proxy. Delete the key "
            "(pulumi config rm --path vault.deployerSourceRanges)",
        )
    mode = s.string("mode", d.mode, choices=VAULT_MODES) or d.mode
    path_names = {"authMountPath": d.auth_mount_path, "kvMount": d.kv_mount}
    paths = {}
    for key, default in path_names.items():
        value = s.string(key, default) or default
        if not is_vault_path(value):
            s.fail(key, value, f"a Vault mount path: {VAULT_PATH_RULE}")
        if value.split("/")[0] in RESERVED_MOUNTS[key]:
            s.fail(key, value, f"a path Vault does not reserve (not {list(RESERVED_MOUNTS[key])})")
        paths[key] = value
    secret_path = s.string("secretPath", d.secret_path) or d.secret_path
    if not is_vault_path(secret_path):
        s.fail(
            "secretPath",
            secret_path,
            f"a KV path such as aidbox/client (no mount): {VAULT_PATH_RULE}",
        )
    v = VaultSettings(
        mode=mode,
        address=s.string("address"),
        namespace=s.string("namespace"),
        ca_cert_file=s.string("caCertFile"),
        token=s.sensitive("token"),
        replicas=s.integer("replicas", d.replicas, minimum=1, maximum=HA_MAX_REPLICAS),
        helm_namespace=k8s_name(s, "helmNamespace", d.helm_namespace),
        auth_mount_path=paths["authMountPath"],
        kv_mount=paths["kvMount"],
        secret_path=secret_path,
        policy_name=vault_name(s, "policyName", d.policy_name, kind="policy"),
        role_name=vault_name(s, "roleName", d.role_name, kind="role"),
        bound_service_account=k8s_object_name(s, "boundServiceAccount", aidbox.service_account),
        audience=s.string("audience", d.audience) or d.audience,
        seed_from_combined_entry=s.boolean("seedFromCombinedEntry", False),
        egress_cidrs=cidrs(s, "egressCidrs"),
        snapshots=parse_snapshots(s) if mode == "ha" else None,
        seed_key_bundle_from_entries=s.boolean("seedKeyBundleFromEntries", False),
    )
    _namespace_checks(s, v, namespace)
    policy_path = s.string("policyPath")
    problem = _policy_path_problem(policy_path, v) if policy_path is not None else None
    if problem:
        s.fail("policyPath", policy_path, f"read-only access needs {problem}")
    capabilities = s.string_list("policyCapabilities") or ("read",)
    if capabilities != ("read",):
        s.fail("policyCapabilities", list(capabilities), "only ['read']: Aidbox only reads")
    if v.bound_service_account != aidbox.service_account:
        s.fail(
            "boundServiceAccount",
            v.bound_service_account,
            f"must be the ServiceAccount the Aidbox pod runs as ({aidbox.service_account!r}), "
            f"in namespace {namespace!r}",
        )
    _mode_checks(s, v)
    return replace(v, policy_path=policy_path)


def _namespace_checks(s: Section, v: VaultSettings, namespace: str) -> None:
    if naming.is_system_namespace(v.helm_namespace):
        s.fail("helmNamespace", v.helm_namespace, f"Vault needs {naming.SYSTEM_NAMESPACE_RULE}")
    if v.helm_namespace == namespace:
        # The Vault release creates its namespace and the cluster component creates Aidbox's:
        # one namespace would be created twice, and the chart's ServiceAccounts and Services
        # would share it with Aidbox's.
        s.fail(
            "helmNamespace",
            v.helm_namespace,
            f"a namespace of Vault's own, not Aidbox's namespace ({namespace!r})",
        )


def _only_for(s: Section, keys: tuple[str, ...], modes: str, mode: str) -> None:
    for key in keys:
        if s.has(key):
            s.fail(key, "(set)", f"only for vault.mode {modes}; this stack uses {mode}")


def _mode_checks(s: Section, v: VaultSettings) -> None:
    if v.mode == "dev":
        # Dev mode runs its own in-memory Vault with a generated root token.
        _only_for(s, ("address", "token", "namespace", "caCertFile"), "external", "dev")
        _only_for(s, ("seedFromCombinedEntry", "seedKeyBundleFromEntries"), "ha or external", "dev")
        _only_for(s, ("replicas", "snapshots"), "ha", "dev")
        _only_for(s, ("egressCidrs",), "external", "dev")
        if v.kv_mount != DEV_KV_MOUNT:
            s.fail(
                "kvMount",
                v.kv_mount,
                f"{DEV_KV_MOUNT!r} in dev mode: the dev server mounts KV v2 there and the "
                "program mounts no other engine",
            )
        return
    if v.mode == "ha":
        # The program runs this Vault (and mounts its KV v2 engine) and makes its CA; the
        # token is the one-time init's.
        _only_for(s, ("address", "namespace", "caCertFile", "egressCidrs"), "external", "ha")
        return
    _only_for(s, ("replicas", "snapshots"), "ha", "external")
    problem = http_url_problem(v.address) if v.address else "a URL"
    if problem:
        s.fail("address", v.address, f"external mode needs the Vault URL: {problem}")
    assert v.address is not None
    if api_path_problem(v.address):
        # Named although `vault` is a secret key (it holds the token): an address is no
        # secret, it is the plain stack output vaultAddress.
        fail(s.key("address"), v.address, API_PATH_RULE)
    if v.ca_cert_file and v.address.startswith("http://"):
        s.fail(
            "caCertFile",
            v.ca_cert_file,
            "only with an https:// vault.address (a plain-http Vault uses no CA)",
        )
    if v.ca_cert_file is not None and not Path(v.ca_cert_file).expanduser().is_file():
        s.fail(
            "caCertFile",
            v.ca_cert_file,
            "a PEM file that exists on the deployer's machine (the CA that signed Vault's "
            "certificate)",
        )
    if v.token is None:
        s.fail(
            "token",
            None,
            "external mode needs a token: pulumi config set --secret --path vault.token ...",
        )
