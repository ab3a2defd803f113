"""Derived names and the rules names must follow. Pure: plain values in, plain values out."""

from __future__ import annotations

import hashlib
import re
import uuid

KEY_VAULT_NAME_RULE = (
    "3-24 characters: letters, digits and hyphens, starting with a letter, "
    "ending with a letter or digit, no '--'"
)
_KEY_VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")

# Valid as a Key Vault secret name, a file name, a Vault KV key and a Kubernetes Secret key;
# lower case only, so two names never collide on Key Vault's case-insensitive names.
SECRET_NAME_RULE = (
    "1-127 characters: lower-case letters, digits and hyphens, "
    "starting and ending with a letter or digit"
)
_SECRET_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,125}[a-z0-9])?$")

K8S_NAME_RULE = "a DNS-1123 label: 1-63 of a-z, 0-9 and '-', alphanumeric at both ends"
_K8S_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

K8S_SUBDOMAIN_RULE = (
    "a DNS-1123 subdomain: up to 253 of a-z, 0-9, '-' and '.', "
    "each dot-separated part alphanumeric at both ends"
)
_K8S_LABEL_PART = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_K8S_SUBDOMAIN = re.compile(rf"^{_K8S_LABEL_PART}(?:\.{_K8S_LABEL_PART})*$")

# Names of objects the program itself creates in Kubernetes. The components use these, and
# the settings refuse user-given names that would collide with them.
AIDBOX = "aidbox"  # Deployment, Service, PodDisruptionBudget
AIDBOX_CONFIG_MAP = "aidbox-config"
AIDBOX_CREDENTIALS_SECRET = "aidbox"
POSTGRES = "aidbox-db"  # StatefulSet, Service and its password Secret
SECRET_PROVIDER_CLASS = "aidbox-secrets"  # Aidbox's
DATABASE_SECRET_PROVIDER_CLASS = "aidbox-db-secrets"  # the database's passwords only
SP_CREDENTIALS_SECRET = "secrets-store-creds"  # Azure servicePrincipal mode
VAULT_RELEASE = "vault"  # the chart's fullname, hence its ServiceAccount and Service names
VAULT_TOKEN_REVIEWER = "vault-token-reviewer"  # external Vault: ServiceAccount, binding
VAULT_TOKEN_REVIEWER_SECRET = f"{VAULT_TOKEN_REVIEWER}-token"
VAULT_DEPLOYER = "vault-deployer"  # in-cluster Vault: the deployer's account for the proxy
VAULT_DEPLOYER_SECRET = f"{VAULT_DEPLOYER}-token"

# Namespaces Kubernetes itself owns (and the `kube-` prefix it reserves for them): the
# program neither creates them nor runs its workloads there.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
SYSTEM_NAMESPACE_RULE = (
    f"a namespace of its own, not one Kubernetes owns ({', '.join(SYSTEM_NAMESPACES)}, "
    "or any kube- name)"
)

# Stable namespace for role-assignment GUIDs, so the same grant always gets the same name.
_ROLE_ASSIGNMENT_NS = uuid.UUID("5b6a3d0e-7c1f-4f5e-9a63-2d8e4c1b9f10")


def is_valid_key_vault_name(name: str) -> bool:
    return bool(_KEY_VAULT_NAME.match(name)) and "--" not in name


def is_valid_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.match(name))


def is_valid_k8s_name(name: str) -> bool:
    return bool(_K8S_NAME.match(name))


def is_valid_k8s_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(_K8S_SUBDOMAIN.match(name))


def is_system_namespace(name: str) -> bool:
    return name in SYSTEM_NAMESPACES or name.startswith("kube-")


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")


def deployment_scope(subscription_id: str, resource_group: str) -> str:
    """What makes a global name unique: the stack's resource group id, in lower case (Azure ids
    are case-insensitive). The same for every run and every person deploying the stack,
    different in every subscription: two organisations adopting this program never share it,
    whatever Pulumi backend they use (on a self-managed one the organization is always
    `organization`)."""
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}".lower()


def _suffix(scope: str, project: str, stack: str) -> str:
    return hashlib.sha256(f"{scope}/{project}/{stack}".encode()).hexdigest()[:5]


def key_vault_name(project: str, stack: str, scope: str) -> str:
    """`kv-<project>-<stack>` shortened to fit, plus a 5-character suffix hashing the
    deployment's scope (`deployment_scope`): Key Vault names are global. When it still
    collides, set `keyVault.name`."""
    suffix = _suffix(scope, project, stack)
    room = 24 - len("kv-") - len(suffix) - 1  # what is left for "<project>-<stack>"
    stack_part = _slug(stack)[:8].strip("-")
    project_part = _slug(project)[: max(room - len(stack_part) - 1, 0)].strip("-")
    body = "-".join(p for p in (project_part, stack_part) if p)
    return f"kv-{body}-{suffix}" if body else f"kv-{suffix}"


def resource_group_name(project: str, stack: str) -> str:
    return f"rg-{_slug(project)}-{_slug(stack)}"[:90]


def cluster_name(project: str, stack: str) -> str:
    return f"aks-{_slug(project)}-{_slug(stack)}"[:63].rstrip("-")


def postgres_server_name(project: str, stack: str, scope: str) -> str:
    """`psql-<project>-<stack>-<suffix>`: flexible server names are global DNS labels (3-63 of
    a-z, 0-9, '-'), so the suffix hashes the deployment's scope, like a Key Vault's."""
    suffix = _suffix(scope, project, stack)
    body = f"psql-{_slug(project)}-{_slug(stack)}"[: 63 - len(suffix) - 1].rstrip("-")
    return f"{body}-{suffix}"


def storage_account_name(project: str, stack: str, scope: str) -> str:
    """`st<project><stack><suffix>`: storage account names are global, 3-24 lower-case letters
    and digits, so the suffix hashes the deployment's scope, like a Key Vault's."""
    suffix = _suffix(scope, project, f"{stack}-snapshots")
    body = re.sub(r"[^a-z0-9]", "", f"{project}{stack}".lower())
    return f"st{body[: 24 - 2 - len(suffix)]}{suffix}"


def role_assignment_name(*parts: str) -> str:
    """A GUID derived from what the grant is (scope, role, grantee), stable across runs."""
    return str(uuid.uuid5(_ROLE_ASSIGNMENT_NS, "/".join(parts)))
