"""What the Vault store's modes share: names and ports, the store's arguments, the context its
pieces are declared in, and the records a mode hands to the pulumi-vault configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from ... import naming
from ...azure.network import Subnets
from ...azure.platform import Platform
from ...kubernetes.target import ClusterTarget
from ...settings import Settings, VaultSettings
from ...settings.managed import Reader

MOUNT_DIR = "/run/vault-secrets"
RELEASE_NAME = naming.VAULT_RELEASE
VAULT_PORT = 8200
IN_CLUSTER_API = "https://kubernetes.default.svc"
DEV_TOKEN_SECRET = "vault-dev-root-token"
TLS_SECRET = "vault-server-tls"
CA_CONFIG_MAP = "vault-ca"


def in_cluster_address(namespace: str, *, tls_enabled: bool = False) -> str:
    if tls_enabled:  # the name the server certificate carries
        return f"https://{RELEASE_NAME}.{namespace}.svc:{VAULT_PORT}"
    return f"http://{RELEASE_NAME}.{namespace}:{VAULT_PORT}"


@dataclass(frozen=True)
class HashiCorpVaultStoreArgs:
    settings: Settings
    cluster: ClusterTarget
    platform: Platform | None = None  # Azure, for an `ha` Vault's unseal key
    oidc_issuer_url: pulumi.Input[str] | None = None  # the AKS cluster's, for an `ha` Vault
    tags: Mapping[str, str] = field(default_factory=dict)
    network: Subnets | None = None  # where an `ha` Vault's unseal Key Vault is reached
    seeds: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # managed secrets
    labels: Mapping[str, str] = field(default_factory=dict)  # on the Kubernetes objects it adds
    # Who reads what (Aidbox first): a role and policy each, bound to its ServiceAccount.
    readers: Sequence[Reader] = ()


@dataclass(frozen=True)
class StoreContext:
    """What every piece of the store is declared with: the store component (the parent of
    all of them, and the prefix of their names), its settings and arguments, and the Vault
    namespace the in-cluster pieces go into."""

    name: str
    store: pulumi.ComponentResource
    settings: Settings
    vault: VaultSettings
    args: HashiCorpVaultStoreArgs
    k8s_opts: pulumi.ResourceOptions  # parent the store, through the cluster's provider
    namespace: k8s.core.v1.Namespace

    def after(self, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(
            self.k8s_opts, pulumi.ResourceOptions(depends_on=list(resources))
        )


@dataclass(frozen=True)
class KubernetesAuth:
    """What Vault's Kubernetes auth needs to review service-account tokens."""

    host: pulumi.Input[str]
    ca_cert: pulumi.Input[str] | None = None
    reviewer_jwt: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class Deployer:
    """How pulumi-vault reaches Vault and who it is there. Everything here is kept in the
    state as the provider's configuration, and `refresh` and `destroy` configure the provider
    from it: nothing short-lived, nothing in a temporary folder."""

    address: pulumi.Input[str]
    token: pulumi.Input[str]
    ca_cert_file: pulumi.Input[str] | None = None
    # To the API server, when Vault is behind its service proxy (`Authorization`).
    headers: pulumi.Input[list[dict[str, str]]] | None = None
    ready: list[pulumi.Resource] = field(default_factory=list)  # the provider waits for these


@dataclass(frozen=True)
class Mode:
    """What one Vault mode sets up before pulumi-vault configures Vault."""

    release: k8s.helm.v3.Release
    address: pulumi.Input[str]  # how the deployer reaches Vault
    deployer: Deployer | None  # None: Vault cannot be configured yet (ha before init)
    auth: KubernetesAuth
    pod_address: str
    ca_cert_path: str | None = None
    exports: Mapping[str, pulumi.Input[object]] = field(default_factory=dict)
