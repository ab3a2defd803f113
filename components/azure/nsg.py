"""Network security groups for the subnets the program creates: one per kind of subnet, with the
AKS baseline's rules (mspnp/aks-baseline, network-team/spoke-BU0001A0008.bicep). Landing-zone
policies often deny a subnet without one. AzureFirewallSubnet gets none: Azure refuses a
network security group on it. Rule sets are pure; `security_group` declares one.

What a group does not name, Azure's default rules decide: inbound from the virtual network
(peered ones included) and from the Azure load balancer's probes allowed, the rest denied;
outbound to the network and the internet allowed. Egress is the firewall's to filter, by name,
which a security group cannot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_azure_native import network

POSTGRES_PORT = "5432"


# Azure takes a single value or a list, never both.
_PLURAL = {
    "source_address_prefixes": "source_address_prefix",
    "destination_port_ranges": "destination_port_range",
}


def _rule(name: str, priority: int, direction: str, access: str, **fields: Any) -> dict[str, Any]:
    rule = {
        "name": name,
        "priority": priority,
        "direction": direction,
        "access": access,
        "protocol": "*",
        "source_port_range": "*",
        "source_address_prefix": "*",
        "destination_address_prefix": "*",
        "destination_port_range": "*",
        **fields,
    }
    for plural, single in _PLURAL.items():
        if plural in fields:
            del rule[single]
    return rule


def node_rules(public_web: bool) -> list[dict[str, Any]]:
    """The baseline's node pool group has no rule of its own. With `aidbox.host`, the
    application routing add-on's public load balancer forwards web requests with the client's
    address, which Azure's defaults deny: let HTTP and HTTPS in from the internet (the nodes
    have no public address; only a load balancer's frontend can be reached)."""
    if not public_web:
        return []
    return [
        _rule(
            "AllowWebFromInternet",
            100,
            "Inbound",
            "Allow",
            protocol="Tcp",
            source_address_prefix="Internet",
            destination_port_ranges=["80", "443"],
        )
    ]


def private_endpoint_rules() -> list[dict[str, Any]]:
    """The baseline's private endpoint group: HTTPS in from the network, nothing else in or
    out. The subnet applies network policies to its private endpoints, so this holds for the
    Key Vaults' endpoints."""
    return [
        _rule(
            "AllowAll443InFromVnet",
            100,
            "Inbound",
            "Allow",
            protocol="Tcp",
            source_address_prefix="VirtualNetwork",
            destination_address_prefix="VirtualNetwork",
            destination_port_range="443",
        ),
        _rule("DenyAllInbound", 1000, "Inbound", "Deny"),
        _rule("DenyAllOutbound", 1000, "Outbound", "Deny"),
    ]


def postgres_rules(node_subnets: Sequence[str], postgres_subnet: str) -> list[dict[str, Any]]:
    """The database subnet (not in the baseline, which has no database): PostgreSQL from the
    node pools (pods reach it from their node's address), anything within the subnet (the
    zone-redundant standby replicates there), nothing else from the network, peered ones and
    on-premises included. Outbound stays Azure's default: the server writes its backups and
    WAL to Azure Storage."""
    return [
        _rule(
            "AllowPostgresFromNodePools",
            100,
            "Inbound",
            "Allow",
            protocol="Tcp",
            source_address_prefixes=list(node_subnets),
            destination_port_range=POSTGRES_PORT,
        ),
        _rule(
            "AllowWithinSubnet",
            110,
            "Inbound",
            "Allow",
            source_address_prefix=postgres_subnet,
            destination_address_prefix=postgres_subnet,
        ),
        _rule(
            "DenyOtherVnetInbound",
            4000,
            "Inbound",
            "Deny",
            source_address_prefix="VirtualNetwork",
        ),
    ]


def security_group(
    name: str,
    parent: pulumi.Resource,
    *,
    group_name: str,
    rules: list[dict[str, Any]],
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    tags: Mapping[str, str],
) -> network.NetworkSecurityGroup:
    """The group with its rules inline: the rules are the program's, so a rule added by hand
    is removed on the next `up` (add it to this module instead)."""
    return network.NetworkSecurityGroup(
        name,
        resource_group_name=resource_group_name,
        location=location,
        network_security_group_name=group_name,
        security_rules=rules,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
