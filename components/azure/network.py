"""The virtual network: subnets for the system and user node pools, private endpoints, and
one delegated to Azure Database for PostgreSQL flexible server (for a later database)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pulumi
from pulumi_azure_native import network

from ..settings import NetworkSettings
from ..settings.network import vnet_of

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
SUBNET_NAMES = {
    "system": "snet-aks-system",
    "user": "snet-aks-user",
    "private_endpoints": "snet-private-endpoints",
    "postgres": "snet-postgres",
}


def subnets(settings: NetworkSettings) -> list[dict]:
    """The subnets, declared inside the virtual network: one ARM call creates them all (a
    separate Subnet resource each would be serialised by Azure, one operation per network)."""
    return [
        {"name": SUBNET_NAMES["system"], "address_prefix": settings.system_subnet},
        {"name": SUBNET_NAMES["user"], "address_prefix": settings.user_subnet},
        {
            "name": SUBNET_NAMES["private_endpoints"],
            "address_prefix": settings.private_endpoint_subnet,
            "private_endpoint_network_policies": "Enabled",
        },
        {
            "name": SUBNET_NAMES["postgres"],
            "address_prefix": settings.postgres_subnet,
            "delegations": [{"name": "postgres", "service_name": POSTGRES_DELEGATION}],
        },
    ]


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


class Network(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]
    system_subnet_id: pulumi.Output[str]
    user_subnet_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    postgres_subnet_id: pulumi.Output[str]
    # The program links its own zones to the network it creates.
    key_vault_private_dns_zone_id: str | None = None
    postgres_private_dns_zone_id: str | None = None

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:Network", name, None, opts)
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args.resource_group_name,
            location=args.location,
            virtual_network_name=args.name,
            address_space={"address_prefixes": [args.settings.address_space]},
            subnets=subnets(args.settings),
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
        self.postgres_vnet_id = self.vnet_id
        self.register_outputs({"vnetId": self.vnet_id, "postgresSubnetId": self.postgres_subnet_id})
