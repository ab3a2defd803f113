"""The virtual network: subnets for the system and user node pools, private endpoints, one
delegated to Azure Database for PostgreSQL flexible server, and with a firewall of its own the
firewall's; a network security group on each (nsg.py) and, when egress goes through a firewall,
the route that sends the node pools' traffic to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pulumi
from pulumi_azure_native import network

from ..settings import NetworkSettings
from ..settings.egress import FIREWALL_SUBNET
from ..settings.network import vnet_of
from .nsg import node_rules, postgres_rules, private_endpoint_rules, security_group

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
SUBNET_NAMES = {
    "system": "snet-aks-system",
    "user": "snet-aks-user",
    "private_endpoints": "snet-private-endpoints",
    "postgres": "snet-postgres",
    "firewall": FIREWALL_SUBNET,
}
# One security group per kind of subnet, named by its key: both node pools share theirs (the
# baseline has one node pool subnet).
GROUP_OF = {
    "system": "nodepools",
    "user": "nodepools",
    "private_endpoints": "private-endpoints",
    "postgres": "postgres",
}
NODE_POOLS = ("system", "user")
DEFAULT_ROUTE = "default-via-firewall"


def default_route(next_hop: str) -> dict:
    """Everything leaving the network goes to the firewall; the network's own ranges (Key
    Vault's private endpoint, the database) keep Azure's more specific system route."""
    return {
        "name": DEFAULT_ROUTE,
        "address_prefix": "0.0.0.0/0",
        "next_hop_type": "VirtualAppliance",
        "next_hop_ip_address": next_hop,
    }


def subnets(
    settings: NetworkSettings,
    groups: Mapping[str, pulumi.Input[str]] | None = None,
    route_table: pulumi.Input[str] | None = None,
) -> list[dict]:
    """The subnets, declared inside the virtual network: one ARM call creates them all (a
    separate Subnet resource each would be serialised by Azure, one operation per network).
    `groups` maps a security group's key (GROUP_OF) to its id; `route_table` is the node
    pools' (egress through a firewall)."""
    groups = groups or {}

    def subnet(key: str, prefix: str, **extra: object) -> dict:
        found = {"name": SUBNET_NAMES[key], "address_prefix": prefix, **extra}
        if GROUP_OF[key] in groups:
            found["network_security_group"] = {"id": groups[GROUP_OF[key]]}
        if route_table is not None and key in NODE_POOLS:
            found["route_table"] = {"id": route_table}
        return found

    found = [
        subnet("system", settings.system_subnet),
        subnet("user", settings.user_subnet),
        subnet(
            "private_endpoints",
            settings.private_endpoint_subnet,
            private_endpoint_network_policies="Enabled",
        ),
        subnet(
            "postgres",
            settings.postgres_subnet,
            delegations=[{"name": "postgres", "service_name": POSTGRES_DELEGATION}],
        ),
    ]
    if settings.egress.mode == "firewall":
        # No security group (Azure refuses one here) and no route (the firewall's own
        # egress goes straight out).
        found.append(
            {"name": SUBNET_NAMES["firewall"], "address_prefix": settings.egress.firewall_subnet}
        )
    return found


def group_rules(settings: NetworkSettings, public_web: bool) -> dict[str, list[dict]]:
    """Each security group's rules. Pure."""
    return {
        "nodepools": node_rules(public_web),
        "private-endpoints": private_endpoint_rules(),
        "postgres": postgres_rules(
            (settings.system_subnet, settings.user_subnet), settings.postgres_subnet
        ),
    }


class Subnets(Protocol):
    """Where the program's private endpoints and managed database are placed."""

    vnet_id: pulumi.Input[str]  # the private endpoints' (their DNS zone is linked to it)
    private_endpoint_subnet_id: pulumi.Input[str]
    postgres_vnet_id: pulumi.Input[str]
    postgres_subnet_id: pulumi.Input[str]
    # Private DNS zones the network already resolves through: the program then creates and
    # links none of its own (None: it does).
    key_vault_private_dns_zone_id: str | None
    postgres_private_dns_zone_id: str | None


@dataclass(frozen=True)
class ForeignSubnets:
    """Subnets of a network this program does not create (cluster.mode existingAks), by id;
    the settings require each one where it is used."""

    private_endpoint_subnet: str | None
    postgres_subnet: str | None
    key_vault_private_dns_zone_id: str | None = None
    postgres_private_dns_zone_id: str | None = None

    @property
    def private_endpoint_subnet_id(self) -> str:
        assert self.private_endpoint_subnet is not None
        return self.private_endpoint_subnet

    @property
    def vnet_id(self) -> str:
        return vnet_of(self.private_endpoint_subnet_id)

    @property
    def postgres_subnet_id(self) -> str:
        assert self.postgres_subnet is not None
        return self.postgres_subnet

    @property
    def postgres_vnet_id(self) -> str:
        return vnet_of(self.postgres_subnet_id)


@dataclass(frozen=True)
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    name: str
    settings: NetworkSettings
    tags: Mapping[str, str]
    public_web: bool = False  # aidbox.host: a public load balancer in front of the nodes


class Network(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]
    system_subnet_id: pulumi.Output[str]
    user_subnet_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    postgres_subnet_id: pulumi.Output[str]
    firewall_subnet_id: pulumi.Output[str] | None = None  # network.egress.mode firewall
    # The program links its own zones to the network it creates.
    key_vault_private_dns_zone_id: str | None = None
    postgres_private_dns_zone_id: str | None = None

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:Network", name, None, opts)
        common = {
            "resource_group_name": args.resource_group_name,
            "location": args.location,
            "tags": args.tags,
        }
        groups = {
            group: security_group(
                f"{name}-nsg-{group}",
                self,
                group_name=f"nsg-{args.name}-{group}",
                rules=rules,
                **common,
            ).id
            for group, rules in group_rules(args.settings, args.public_web).items()
        }
        route_table = None
        egress = args.settings.egress
        if egress.through_firewall:
            assert egress.next_hop is not None
            # Its route names the firewall's address, known before the firewall exists: the
            # network (which the firewall lives in) can carry the table from the start.
            route_table = network.RouteTable(
                f"{name}-routes",
                route_table_name=f"rt-{args.name}-egress",
                routes=[default_route(egress.next_hop)],
                disable_bgp_route_propagation=False,
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            ).id
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args.resource_group_name,
            location=args.location,
            virtual_network_name=args.name,
            address_space={"address_prefixes": [args.settings.address_space]},
            subnets=subnets(args.settings, groups, route_table),
            tags=dict(args.tags),
            # Subnets live inside the network resource: changes go through it.
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vnet_id = vnet.id

        def subnet_id(key: str) -> pulumi.Output[str]:
            return vnet.id.apply(lambda i: f"{i}/subnets/{SUBNET_NAMES[key]}")

        self.system_subnet_id = subnet_id("system")
        self.user_subnet_id = subnet_id("user")
        self.private_endpoint_subnet_id = subnet_id("private_endpoints")
        self.postgres_subnet_id = subnet_id("postgres")
        if egress.mode == "firewall":
            self.firewall_subnet_id = subnet_id("firewall")
        self.postgres_vnet_id = self.vnet_id
        self.register_outputs({"vnetId": self.vnet_id, "postgresSubnetId": self.postgres_subnet_id})
