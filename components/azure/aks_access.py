"""How the deployer reaches an AKS API server, created here or not: a Kubernetes provider that
runs kubelogin for an Entra ID token each time (no credential in state)."""

from __future__ import annotations

import base64
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice

from ..kubernetes.target import ClusterTarget
from .kubeconfig import cluster_endpoint, decode_kubeconfig, exec_kubeconfig


class AksTarget(ClusterTarget, Protocol):
    """An AKS cluster, created here or not: the identities the stores grant and federate."""

    cluster_name: pulumi.Output[str]
    kubelet_client_id: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    addon_client_id: pulumi.Output[str] | None  # the Key Vault add-on's, where it runs
    addon_object_id: pulumi.Output[str] | None


class EntraAccess:
    """The API server of an Entra ID AKS cluster, its CA, and a provider for it."""

    def __init__(
        self,
        name: str,
        parent: pulumi.Resource,
        *,
        resource_group_name: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        kubeconfig_name: str,
        login: str,
        client_id: str | None = None,  # kubelogin msi: which of the VM's identities
    ) -> None:
        # The user kubeconfig of an Entra ID cluster carries no secret: only the API server
        # and its CA are taken from it, and the provider runs kubelogin (azurecli,
        # workloadidentity or msi login: non-interactive, so CI works too).
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=resource_group_name,
            resource_name=cluster_name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=parent),
        )
        endpoint = credentials.kubeconfigs.apply(lambda k: cluster_endpoint(decode_kubeconfig(k)))
        self.api_server_url = endpoint.apply(lambda e: e[0])
        self.api_server_ca = endpoint.apply(lambda e: base64.b64decode(e[1]).decode())
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=endpoint.apply(
                lambda e: exec_kubeconfig(kubeconfig_name, e[0], e[1], login, client_id)
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
