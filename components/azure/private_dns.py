"""A private DNS zone linked to the virtual network, so names in it resolve to private
addresses from the cluster's nodes and pods."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import network, privatedns


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


def private_endpoint(
    name: str,
    parent: pulumi.Resource,
    *,
    target_id: pulumi.Input[str],
    group_id: str,
    zone_name: str,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    tags: Mapping[str, str],
    private_dns_zone_id: str | None = None,
) -> network.PrivateEndpoint:
    """A resource's private address in the virtual network (`<name>-endpoint`, sub-resource
    `group_id`), and the private DNS zone that makes its public name resolve to it from the
    cluster's nodes and pods: the program's own (`zone_name`, linked to the network), or
    (`private_dns_zone_id`) one the network already resolves through, such as a hub's."""
    child = pulumi.ResourceOptions(parent=parent)
    if private_dns_zone_id is None:
        zone, _ = linked_zone(
            name,
            parent,
            zone_name=zone_name,
            resource_group_name=resource_group_name,
            vnet_id=vnet_id,
            tags=tags,
        )
        zone_id: pulumi.Input[str] = zone.id
    else:
        zone_id = private_dns_zone_id
    endpoint = network.PrivateEndpoint(
        f"{name}-endpoint",
        resource_group_name=resource_group_name,
        location=location,
        subnet={"id": subnet_id},
        private_link_service_connections=[
            {"name": group_id, "private_link_service_id": target_id, "group_ids": [group_id]}
        ],
        tags=dict(tags),
        opts=child,
    )
    network.PrivateDnsZoneGroup(
        f"{name}-endpoint-dns",
        resource_group_name=resource_group_name,
        private_endpoint_name=endpoint.name,
        private_dns_zone_group_name=group_id,
        private_dns_zone_configs=[{"name": group_id, "private_dns_zone_id": zone_id}],
        opts=child,
    )
    return endpoint
