"""The AKS cluster, its identities, its kubeconfig and a Kubernetes provider for it."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import containerservice

KEY_VAULT_ADDON = "azureKeyvaultSecretsProvider"


@dataclass(frozen=True)
class KeyVaultAddon:
    """The AKS-managed CSI driver + Azure provider, instead of the Helm releases."""

    rotation_poll_interval: str


@dataclass(frozen=True)
class AksClusterArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    cluster_name: str
    node_count: int
    vm_size: str
    kubernetes_version: str
    tags: Mapping[str, str]
    namespace: str = "default"  # where Aidbox runs; created unless it is "default"
    workload_identity: bool = False
    key_vault_addon: KeyVaultAddon | None = None
    protect: bool = False


def addon_profiles(addon: KeyVaultAddon | None) -> dict[str, Any] | None:
    """The add-on's config is a map of strings, booleans included."""
    if addon is None:
        return None
    return {
        KEY_VAULT_ADDON: {
            "enabled": True,
            "config": {
                "enableSecretRotation": "true",
                "rotationPollInterval": addon.rotation_poll_interval,
            },
        }
    }


def decode_kubeconfig(kubeconfigs: Any) -> str:
    return base64.b64decode(kubeconfigs[0].value).decode()


def cluster_endpoint(kubeconfig: str) -> tuple[str, str]:
    """(API server URL, CA certificate PEM) of the kubeconfig's first cluster."""
    cluster = yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]
    return cluster["server"], base64.b64decode(cluster["certificate-authority-data"]).decode()


class AksCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    kubelet_client_id: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    addon_client_id: pulumi.Output[str] | None
    addon_object_id: pulumi.Output[str] | None
    kubeconfig: pulumi.Output[str]
    api_server_url: pulumi.Output[str]
    api_server_ca: pulumi.Output[str]
    provider: k8s.Provider
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:AksCluster", name, None, opts)
        security_profile = (
            {"workload_identity": {"enabled": True}} if args.workload_identity else None
        )
        cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_group_name=args.resource_group_name,
            location=args.location,
            resource_name_=args.cluster_name,
            dns_prefix=args.cluster_name,
            kubernetes_version=args.kubernetes_version,
            enable_rbac=True,
            identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
            agent_pool_profiles=[
                {
                    "name": "system",
                    "mode": containerservice.AgentPoolMode.SYSTEM,
                    "count": args.node_count,
                    "vm_size": args.vm_size,
                    "os_type": containerservice.OSType.LINUX,
                    "type": containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                }
            ],
            oidc_issuer_profile={"enabled": True},
            security_profile=security_profile,
            addon_profiles=addon_profiles(args.key_vault_addon),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        kubelet = cluster.identity_profile.apply(lambda p: p["kubeletidentity"])
        self.cluster_name = cluster.name
        self.kubelet_client_id = kubelet.apply(lambda i: i.client_id)
        self.kubelet_object_id = kubelet.apply(lambda i: i.object_id)
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url)
        self.addon_client_id = self.addon_object_id = None
        if args.key_vault_addon:
            addon = cluster.addon_profiles.apply(lambda p: p[KEY_VAULT_ADDON].identity)
            self.addon_client_id = addon.apply(lambda i: i.client_id)
            self.addon_object_id = addon.apply(lambda i: i.object_id)

        # Admin credentials: the user kubeconfig of an Entra-integrated cluster needs an
        # interactive kubelogin, which CI cannot do.
        credentials = containerservice.list_managed_cluster_admin_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=cluster.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.kubeconfig = pulumi.Output.secret(credentials.kubeconfigs.apply(decode_kubeconfig))
        endpoint = self.kubeconfig.apply(cluster_endpoint)
        self.api_server_url = endpoint.apply(lambda e: e[0])
        self.api_server_ca = endpoint.apply(lambda e: e[1])
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = pulumi.Output.from_input(args.namespace)
        if args.namespace != "default":
            self.namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={"name": args.namespace},
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
            ).metadata.apply(lambda m: m.name)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeletClientId": self.kubelet_client_id,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeconfig": self.kubeconfig,
            }
        )
