"""A private DNS zone linked to the virtual network, so names in it resolve to private
addresses from the cluster's nodes and pods."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import privatedns


def linked_zone(
    name: str,
    parent: pulumi.Resource,
    *,
    zone_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    tags: Mapping[str, str],
    keep_stored_name: bool = False,
) -> tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
    """`<name>-dns` and its `<name>-dns-link` to the network. With `keep_stored_name`, a zone
    the stack already has keeps its name when the derived one changes (a new name would
    replace the zone, and whatever points at it)."""
    child = pulumi.ResourceOptions(parent=parent)
    zone = privatedns.PrivateZone(
        f"{name}-dns",
        resource_group_name=resource_group_name,
        private_zone_name=zone_name,
        location="global",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(
            parent=parent, ignore_changes=["privateZoneName"] if keep_stored_name else None
        ),
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-dns-link",
        resource_group_name=resource_group_name,
        private_zone_name=zone.name,
        virtual_network={"id": vnet_id},
        registration_enabled=False,
        location="global",
        tags=dict(tags),
        opts=child,
    )
    return zone, link
