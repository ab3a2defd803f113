"""A user-assigned managed identity federated to one Kubernetes ServiceAccount (AKS workload
identity): the pod that runs as it gets Entra tokens for it, and no one else does."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import managedidentity

from ..kubernetes.helm_values import AZURE_TOKEN_AUDIENCE


def federated_identity(
    prefix: str,
    parent: pulumi.Resource,
    *,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    issuer: pulumi.Input[str],
    subject: pulumi.Input[str],
    tags: Mapping[str, str] | None = None,
) -> tuple[managedidentity.UserAssignedIdentity, managedidentity.FederatedIdentityCredential]:
    """`<prefix>-identity` and its `<prefix>-federation` to `subject`
    (system:serviceaccount:<namespace>:<name>) at the cluster's OIDC `issuer`."""
    child = pulumi.ResourceOptions(parent=parent)
    identity = managedidentity.UserAssignedIdentity(
        f"{prefix}-identity",
        resource_group_name=resource_group_name,
        location=location,
        tags=dict(tags) if tags is not None else None,
        opts=child,
    )
    federation = managedidentity.FederatedIdentityCredential(
        f"{prefix}-federation",
        resource_group_name=resource_group_name,
        resource_name_=identity.name,
        issuer=issuer,
        subject=subject,
        audiences=[AZURE_TOKEN_AUDIENCE],
        opts=child,
    )
    return identity, federation
