"""`vault`: the HashiCorp Vault store, its paths, policy and Kubernetes auth role."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from .aidbox import AidboxSettings
from .reader import Section, Sensitive, fail
from .values import k8s_name

VAULT_MODES = ("dev", "external")


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


def _policy_path_problem(path: str, v: VaultSettings) -> str | None:
    """Why a policy path would grant more than reading this project's secret, or None."""
    prefix = f"{v.kv_mount}/data/"
    if not path.startswith(prefix) or "+" in path or "*" in path[:-1]:
        return f"a path under {prefix} with at most one trailing '*'"
    covered = path[:-1] if path.endswith("*") else path
    if not v.secret_api_path.startswith(covered) or covered == prefix:
        return f"a path that covers {v.secret_api_path} and no whole mount"
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
        helm_namespace=k8s_name(s, "helmNamespace", d.helm_namespace),
        auth_mount_path=paths["authMountPath"],
        kv_mount=paths["kvMount"],
        secret_path=secret_path,
        policy_name=k8s_name(s, "policyName", d.policy_name),
        role_name=k8s_name(s, "roleName", d.role_name),
        bound_service_account=k8s_name(s, "boundServiceAccount", aidbox.service_account),
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
