"""The Azure Container Registry that holds copies of the pinned images (registry.mode acr), as
the AKS baseline's: Premium (private link), no admin user, anonymous pull off, reached from the
cluster through a private endpoint with its `privatelink.azurecr.io` zone, and the kubelet
identity allowed to pull (AcrPull) and nothing more. The images get in with `az acr import`
(scripts/import-images.sh): Azure Resource Manager copies them, so public network access stays
off."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import containerregistry

from ..settings import RegistrySettings
from .grants import assignment_name, grant_identity
from .private_dns import private_endpoint
from .roles import ACR_PULL

PRIVATE_DNS_ZONE = "privatelink.azurecr.io"
GROUP_ID = "registry"  # the private link sub-resource of a registry


def registry_properties(settings: RegistrySettings, *, zones: bool) -> dict[str, Any]:
    """Premium (the tier with private endpoints), no admin user or anonymous pull; Azure's
    trusted services may pass the firewall (the AKS baseline's choice). Pure."""
    return {
        "sku": {"name": "Premium"},
        "admin_user_enabled": False,
        "anonymous_pull_enabled": False,
        "public_network_access": "Enabled" if settings.public_network_access else "Disabled",
        "network_rule_bypass_options": "AzureServices",
        # Where the region has zones; Azure cannot change it once the registry exists.
        "zone_redundancy": "Enabled" if zones else "Disabled",
    }


@dataclass(frozen=True)
class ContainerRegistryArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    settings: RegistrySettings
    # The registry's name unless registry.name is set: naming.registry_name for this deployment.
    derived_name: pulumi.Input[str]
    zones: bool
    vnet_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # the program's private endpoint subnet
    puller_object_id: pulumi.Input[str]  # the kubelet identity: the nodes pull as it
    tags: Mapping[str, str]


class ContainerRegistry(pulumi.ComponentResource):
    registry_name: pulumi.Output[str]
    login_server: pulumi.Output[str]
    registry_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:ContainerRegistry", name, None, opts)
        s = args.settings
        registry = containerregistry.Registry(
            f"{name}-acr",
            resource_group_name=args.resource_group_name,
            location=args.location,
            registry_name=s.name or args.derived_name,
            tags=dict(args.tags),
            **registry_properties(s, zones=args.zones),
            # A derived name that changes (e.g. a new rule) does not replace the registry.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=[] if s.name else ["registryName"]
            ),
        )
        private_endpoint(
            name,
            self,
            target_id=registry.id,
            group_id=GROUP_ID,
            zone_name=PRIVATE_DNS_ZONE,
            resource_group_name=args.resource_group_name,
            location=args.location,
            vnet_id=args.vnet_id,
            subnet_id=args.subnet_id,
            tags=args.tags,
        )
        grant_identity(
            f"{name}-kubelet-pull",
            self,
            role=ACR_PULL,
            scope=registry.id,
            guid=pulumi.Output.all(registry.id, args.puller_object_id).apply(
                lambda v: assignment_name(v[0], v[1], ACR_PULL)
            ),
            subscription_id=args.subscription_id,
            principal_id=args.puller_object_id,
            description="the nodes pull the pinned images",
            # The kubelet's identity is in the GUID: a new one gets a new assignment.
            replace_first=False,
        )
        self.registry_name = registry.name
        self.login_server = registry.login_server
        self.registry_id = registry.id
        self.register_outputs({"loginServer": self.login_server})
