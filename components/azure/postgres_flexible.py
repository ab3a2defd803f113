"""Azure Database for PostgreSQL flexible server for Aidbox (`postgres.mode: azureFlexible`):
private access only, through a subnet of the cluster's virtual network delegated to it and a
private DNS zone linked to that network; TLS required (the server's default); zone-redundant
HA and backups as configured. Its administrator password is the one the program seeds into the
secret store; Aidbox logs in as a role of its own that the role Job creates
(components/aidbox/db_role.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import dbforpostgresql

from ..database import APP_ROLE, Database
from ..settings.managed import DB_APP_PASSWORD, DB_PASSWORD
from ..settings.postgres import FlexibleServerSettings
from .locks import delete_lock
from .private_dns import linked_zone

ADMIN_LOGIN = "aidbox"
DATABASE = "aidbox"
PORT = 5432
# Extensions Aidbox creates at start (pgcrypto, unaccent, pg_trgm, fuzzystrmatch) and the one
# Aidbox's Azure guide adds for query statistics: Azure allows only what this lists.
EXTENSIONS = ("FUZZYSTRMATCH", "PG_STAT_STATEMENTS", "PG_TRGM", "PGCRYPTO", "UNACCENT")


def dns_zone_name(server_name: str) -> str:
    """Private access needs a zone ending in .postgres.database.azure.com; one per server keeps
    servers of other stacks out of it."""
    return f"{server_name}.private.postgres.database.azure.com"


def server_properties(settings: FlexibleServerSettings) -> dict[str, Any]:
    """The server's size, version, storage, backup and availability. Pure."""
    return {
        "version": settings.version,
        "sku": {"name": settings.sku, "tier": settings.tier},
        "storage": {"storage_size_gb": settings.storage_size_gb, "auto_grow": "Enabled"},
        "backup": {
            "backup_retention_days": settings.backup_retention_days,
            "geo_redundant_backup": "Enabled" if settings.geo_redundant_backup else "Disabled",
        },
        "high_availability": {
            "mode": "ZoneRedundant" if settings.high_availability else "Disabled",
        },
    }


@dataclass(frozen=True)
class FlexibleServerArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    server_name: pulumi.Input[str]  # derived: a stack that has the server keeps its name
    settings: FlexibleServerSettings
    vnet_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # delegated to Microsoft.DBforPostgreSQL/flexibleServers
    password: pulumi.Input[str]  # the store's seed value for DB_PASSWORD (secret)
    tags: Mapping[str, str]
    # A private DNS zone the network already resolves through (<name>.postgres.database.azure.com,
    # e.g. a hub's): the program then creates and links none.
    private_dns_zone_id: str | None = None
    protect: bool = False
    lock: bool = False  # a CanNotDelete lock (locks)


class FlexibleServer(pulumi.ComponentResource):
    database: Database
    fqdn: pulumi.Output[str]

    def __init__(
        self, name: str, args: FlexibleServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:PostgresFlexibleServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zone_id, linked = args.private_dns_zone_id, []
        if zone_id is None:
            zone, link = linked_zone(
                name,
                self,
                zone_name=pulumi.Output.from_input(args.server_name).apply(dns_zone_name),
                resource_group_name=args.resource_group_name,
                vnet_id=args.vnet_id,
                tags=args.tags,
                # The server's network settings cannot change: its zone keeps its name too.
                keep_stored_name=True,
            )
            zone_id, linked = zone.id, [link]
        server = dbforpostgresql.Server(
            f"{name}-server",
            resource_group_name=args.resource_group_name,
            location=args.location,
            server_name=args.server_name,
            administrator_login=ADMIN_LOGIN,
            administrator_login_password=pulumi.Output.secret(args.password),
            auth_config={"password_auth": "Enabled", "active_directory_auth": "Disabled"},
            network={
                "delegated_subnet_resource_id": args.subnet_id,
                "private_dns_zone_arm_resource_id": zone_id,
                "public_network_access": "Disabled",
            },
            tags=dict(args.tags),
            **server_properties(args.settings),
            # Creating the server in the subnet fails until the zone is linked to the network.
            # A stack that has the server keeps its name (a new one is a new, empty database).
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=linked,
                additional_secret_outputs=["administratorLoginPassword"],
                # The generated password seeds the server once: a rotation done outside Pulumi
                # (`az postgres flexible-server update --admin-password`, then the store) is
                # not sent back by the next `pulumi up` (docs/operations.md, "Rotate"). A stored
                # server name is kept (docs/operations.md, "Upgrade notes").
                ignore_changes=["serverName", "administratorLoginPassword"],
            ),
        )
        if args.lock:
            delete_lock(name, self, scope=server.id, what="Aidbox's database")
        database = dbforpostgresql.Database(
            f"{name}-database",
            resource_group_name=args.resource_group_name,
            server_name=server.name,
            database_name=DATABASE,
            charset="UTF8",
            collation="en_US.utf8",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # Flexible server applies one parameter change at a time, each a step before Aidbox can
        # start: the program sets only what differs from the default. require_secure_transport
        # is on by default (and Aidbox connects with sslmode=verify-full whatever it says).
        extensions = dbforpostgresql.Configuration(
            f"{name}-extensions",
            resource_group_name=args.resource_group_name,
            server_name=server.name,
            configuration_name="azure.extensions",
            value=",".join(EXTENSIONS),
            source="user-override",
            opts=child,
        )
        self.fqdn = server.fully_qualified_domain_name
        self.database = Database(
            host=self.fqdn,
            port=PORT,
            name=DATABASE,
            user=APP_ROLE,
            password_secret=DB_APP_PASSWORD,
            admin_user=ADMIN_LOGIN,
            admin_password_secret=DB_PASSWORD,
            tls=True,
            ready=[server, database, extensions],
        )
        self.register_outputs({"fqdn": self.fqdn})
