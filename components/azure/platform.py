"""Subscription-level pieces: the resource group, the tenant and the subscription."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, resources

from .. import naming


@dataclass(frozen=True)
class PlatformArgs:
    resource_group_name: str
    location: str
    tags: Mapping[str, str]
    # Production: `pulumi destroy` stops at the group until it is unprotected on purpose.
    protect: bool = False


class Platform(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    location: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    scope: pulumi.Output[str]  # what global names derive from: naming.deployment_scope

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:Platform", name, None, opts)
        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.resource_group_name = group.name
        self.resource_group_id = group.id
        self.location = group.location
        self.tenant_id = client.tenant_id
        self.subscription_id = client.subscription_id
        # From the invoke and the group's name, not the group's id: known at preview, so
        # resources named from it need not wait for the group.
        self.scope = client.subscription_id.apply(
            lambda sub: naming.deployment_scope(sub, args.resource_group_name)
        )
        self.register_outputs(
            {"resourceGroupName": self.resource_group_name, "tenantId": self.tenant_id}
        )
