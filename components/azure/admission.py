"""Azure Policy for the cluster (cluster.azurePolicy): the AKS baseline's two admission
assignments, at the cluster's scope, enforced by the Azure Policy add-on (Gatekeeper):

- the built-in initiative "Kubernetes cluster pod security restricted standards for
  Linux-based workloads" (policy set 42b8ef37-b724-4e24-bbc8-7a7708edfe00), with the baseline's
  effect, Audit: Pod Security Admission already enforces restricted on the namespaces the
  program creates (components/kubernetes/pod_security.py), and the add-on reports every other
  namespace's pods to Azure Policy's compliance view;
- the built-in policy "Kubernetes cluster containers should only use allowed images"
  (febd0533-8e55-448f-b837-bd0e06f16469), effect Deny, allowing the registry you own and
  mcr.microsoft.com (the add-ons' images), when the stack has one (registry.mode).

Source: mspnp/aks-baseline, workload-team/modules/policies.bicep (psdAKSLinuxRestrictive and
pdEnforceImageSource, assigned there to the cluster's resource group, here to the cluster).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization

RESTRICTED_INITIATIVE = (
    "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
)
ALLOWED_IMAGES = (
    "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469"
)
# The baseline's exclusions: Kubernetes', the add-on's own and Arc's namespaces.
EXCLUDED_NAMESPACES = ("kube-system", "gatekeeper-system", "azure-arc")
# The add-ons' images (AKS-managed routing, the Key Vault certificate placeholder) come from MCR.
MICROSOFT_REGISTRY = "mcr.microsoft.com"


def allowed_images_regex(login_server: str) -> str:
    """Images from the registry you own or from MCR, nothing else."""
    return "|".join(f"^{re.escape(host)}/.+$" for host in (login_server, MICROSOFT_REGISTRY))


@dataclass(frozen=True)
class Assignment:
    name: str  # the assignment's name at the cluster's scope
    display_name: str
    definition_id: str
    parameters: dict[str, Any]


def assignments(
    *, images_regex: Any | None, excluded_namespaces: Sequence[str] = ()
) -> list[Assignment]:
    """The assignments for one cluster. `images_regex`: allowed_images_regex of the registry
    you own (None: no registry, no image assignment). `excluded_namespaces`: namespaces of the
    program's whose pods cannot meet restricted (each says why). Pure."""
    restricted_excluded = [*EXCLUDED_NAMESPACES, *excluded_namespaces]
    found = [
        Assignment(
            "aks-pod-security-restricted",
            "Kubernetes cluster pod security restricted standards for Linux-based workloads",
            RESTRICTED_INITIATIVE,
            {
                "effect": {"value": "Audit"},
                "excludedNamespaces": {"value": restricted_excluded},
            },
        )
    ]
    if images_regex is not None:
        found.append(
            Assignment(
                "aks-allowed-images",
                "Kubernetes cluster containers should only use allowed images",
                ALLOWED_IMAGES,
                {
                    "effect": {"value": "Deny"},
                    "excludedNamespaces": {"value": list(EXCLUDED_NAMESPACES)},
                    "allowedContainerImagesRegex": {"value": images_regex},
                },
            )
        )
    return found


@dataclass(frozen=True)
class ClusterPoliciesArgs:
    cluster_id: pulumi.Input[str]
    cluster_name: str
    login_server: pulumi.Input[str] | None  # the registry you own, if any
    excluded_namespaces: tuple[str, ...] = ()


class ClusterPolicies(pulumi.ComponentResource):
    """The assignments, scoped to the cluster. Creating one needs
    Microsoft.Authorization/policyAssignments/write (Resource Policy Contributor; CI's deploy
    identities get it from the bootstrap)."""

    def __init__(
        self, name: str, args: ClusterPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:ClusterPolicies", name, None, opts)
        regex = None
        if args.login_server is not None:
            regex = pulumi.Output.from_input(args.login_server).apply(allowed_images_regex)
        for spec in assignments(images_regex=regex, excluded_namespaces=args.excluded_namespaces):
            authorization.PolicyAssignment(
                f"{name}-{spec.name}",
                policy_assignment_name=spec.name,
                scope=args.cluster_id,
                policy_definition_id=spec.definition_id,
                display_name=f"[{args.cluster_name}] {spec.display_name}"[:128],
                parameters=spec.parameters,
                enforcement_mode="Default",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
