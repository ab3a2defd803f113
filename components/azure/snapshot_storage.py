"""Where an `ha` Vault's Raft snapshots go: a storage account that takes no shared key, denies
other networks (its private endpoint in the cluster's network, the administrators' ranges for
a restore), keeps deleted snapshots and containers for a while and deletes old snapshots; and
the identity the snapshot job uploads as (workload identity, "Storage Blob Data Contributor"
on the one container)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, storage

from .. import naming
from .grants import grant_identity
from .locks import delete_lock
from .network import Subnets
from .private_dns import linked_zone
from .roles import STORAGE_BLOB_DATA_CONTRIBUTOR
from .workload_identity import federated_identity

CONTAINER = "vault-snapshots"
BLOB_ZONE = "privatelink.blob.core.windows.net"
# A snapshot deleted (by hand, or by a compromised job: its role has no permanent delete) stays
# recoverable this long; so does a deleted container.
SOFT_DELETE_DAYS = 14


def account_properties(allowed_ranges: Sequence[str], *, production: bool) -> dict:
    """No shared keys (Entra ID only), no public blobs, TLS 1.2, and no network but the private
    endpoint and `allowed_ranges` (the administrators', for a restore). Pure."""
    return {
        "kind": storage.Kind.STORAGE_V2,
        # Zone-redundant on production: a snapshot must outlive the zone that lost the cluster.
        "sku": {
            "name": storage.SkuName.STANDARD_ZRS if production else storage.SkuName.STANDARD_LRS
        },
        "allow_shared_key_access": False,
        "default_to_o_auth_authentication": True,
        "allow_blob_public_access": False,
        "minimum_tls_version": storage.MinimumTlsVersion.TLS1_2,
        "enable_https_traffic_only": True,
        "public_network_access": "Enabled" if allowed_ranges else "Disabled",
        "network_rule_set": {
            "default_action": storage.DefaultAction.DENY,
            "bypass": storage.Bypass.AZURE_SERVICES,
            "ip_rules": [
                {"i_p_address_or_range": r.removesuffix("/32"), "action": "Allow"}
                for r in allowed_ranges
            ],
        },
    }


def lifecycle_rule(retention_days: int) -> dict:
    """Delete snapshots older than the retention (then soft delete keeps them a while). Pure."""
    return {
        "rules": [
            {
                "name": "expire-vault-snapshots",
                "enabled": True,
                "type": "Lifecycle",
                "definition": {
                    "filters": {"blob_types": ["blockBlob"], "prefix_match": [f"{CONTAINER}/"]},
                    "actions": {
                        "base_blob": {
                            "delete": {"days_after_modification_greater_than": retention_days}
                        }
                    },
                },
            }
        ]
    }


@dataclass(frozen=True)
class VaultSnapshotStorageArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    account_name: pulumi.Input[str]  # derived: a stack that has the account keeps its name
    oidc_issuer_url: pulumi.Input[str]
    subject: str  # system:serviceaccount:<namespace>:<the snapshot job's ServiceAccount>
    retention_days: int
    production: bool
    tags: Mapping[str, str]
    network: Subnets | None = None
    private_dns_zone_id: str | None = None  # an existing privatelink.blob zone (existingAks)
    allowed_ranges: tuple[str, ...] = ()
    lock: bool = False  # a CanNotDelete lock (locks)


class VaultSnapshotStorage(pulumi.ComponentResource):
    account_name: pulumi.Output[str]
    container_name: str
    client_id: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: VaultSnapshotStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:VaultSnapshotStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = storage.StorageAccount(
            f"{name}-account",
            resource_group_name=args.resource_group_name,
            location=args.location,
            account_name=args.account_name,
            **account_properties(args.allowed_ranges, production=args.production),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.production, ignore_changes=["accountName"]
            ),
        )
        if args.lock:
            # Vault's backups: the account and its container cannot be deleted; blobs can
            # (locks stop the management plane, not the lifecycle rule or the data plane).
            delete_lock(name, self, scope=account.id, what="Vault's snapshots")
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            blob_services_name="default",
            delete_retention_policy={"enabled": True, "days": SOFT_DELETE_DAYS},
            container_delete_retention_policy={"enabled": True, "days": SOFT_DELETE_DAYS},
            opts=child,
        )
        container = storage.BlobContainer(
            f"{name}-container",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            container_name=CONTAINER,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions(parent=self, protect=args.production),
        )
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            management_policy_name="default",
            policy=lifecycle_rule(args.retention_days),
            opts=child,
        )
        if args.network is not None:
            self._private_endpoint(name, args, account)
        identity, federation = federated_identity(
            name,
            self,
            resource_group_name=args.resource_group_name,
            location=args.location,
            issuer=args.oidc_issuer_url,
            subject=args.subject,
            tags=args.tags,
        )
        grant = grant_identity(
            f"{name}-grant",
            self,
            role=STORAGE_BLOB_DATA_CONTRIBUTOR,
            scope=container.id,
            guid=container.id.apply(
                lambda scope: naming.role_assignment_name(
                    scope.lower(), STORAGE_BLOB_DATA_CONTRIBUTOR, "vault-snapshots"
                )
            ),
            subscription_id=args.subscription_id,
            principal_id=identity.principal_id,
            description="vault-snapshots",
        )
        self.account_name = account.name
        self.container_name = CONTAINER
        self.client_id = identity.client_id
        self.ready = [federation, grant]
        self.register_outputs({"accountName": self.account_name, "clientId": self.client_id})

    def _private_endpoint(
        self, name: str, args: VaultSnapshotStorageArgs, account: storage.StorageAccount
    ) -> None:
        assert args.network is not None
        zone_id: pulumi.Input[str]
        if args.private_dns_zone_id is None:
            zone, _ = linked_zone(
                name,
                self,
                zone_name=BLOB_ZONE,
                resource_group_name=args.resource_group_name,
                vnet_id=args.network.vnet_id,
                tags=args.tags,
            )
            zone_id = zone.id
        else:
            zone_id = args.private_dns_zone_id
        child = pulumi.ResourceOptions(parent=self)
        endpoint = network.PrivateEndpoint(
            f"{name}-endpoint",
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet={"id": args.network.private_endpoint_subnet_id},
            private_link_service_connections=[
                {"name": "blob", "private_link_service_id": account.id, "group_ids": ["blob"]}
            ],
            tags=dict(args.tags),
            opts=child,
        )
        network.PrivateDnsZoneGroup(
            f"{name}-endpoint-dns",
            resource_group_name=args.resource_group_name,
            private_endpoint_name=endpoint.name,
            private_dns_zone_group_name="blob",
            private_dns_zone_configs=[{"name": "blob", "private_dns_zone_id": zone_id}],
            opts=child,
        )
