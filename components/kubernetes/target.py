"""The cluster Aidbox is deployed into, as the rest of the program sees it, whichever way it
was reached (cluster.mode aks, existingAks or kubeconfig)."""

from __future__ import annotations

from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from .pod_security import namespace_labels


def bearer_header(token: str) -> dict[str, str]:
    """The API server reads `Authorization` (and drops it after authenticating the request);
    Vault reads `X-Vault-Token`, which the proxy passes on."""
    return {"name": "Authorization", "value": f"Bearer {token}"}


class ClusterTarget(Protocol):
    provider: k8s.Provider
    namespace: pulumi.Output[str]  # Aidbox's, created unless "default"
    api_server_url: pulumi.Output[str]
    api_server_ca: pulumi.Output[str]  # PEM


def aidbox_namespace(
    name: str, namespace: str, provider: k8s.Provider, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """Aidbox's namespace, created unless it is "default"; its name as an Output, so what goes
    into it waits for it. Its pods (Aidbox, PostgreSQL, the routing add-on's certificate
    placeholder) meet the restricted Pod Security Standard, which the API server enforces. The
    cluster's own `default` namespace is not labelled: other workloads may run there."""
    if namespace == "default":
        return pulumi.Output.from_input(namespace)
    return k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata={"name": namespace, "labels": namespace_labels("restricted")},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    ).metadata.apply(lambda m: m.name)
