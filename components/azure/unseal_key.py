"""The Azure Key Vault key an `ha` Vault auto-unseals with, and the identity that may use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from .. import naming
from .grants import grant_identity
from .key_vault import network_acls, private_access, vault_properties
from .locks import delete_lock
from .network import Subnets
from .roles import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from .workload_identity import federated_identity

UNSEAL_KEY_NAME = "vault-unseal"
INIT_SECRET_NAME = "vault-init"  # where the one-time `vault operator init` output goes


@dataclass(frozen=True)
class VaultUnsealKeyArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]  # derived: a stack that has the vault keeps its name
    oidc_issuer_url: pulumi.Input[str]
    subject: str  # system:serviceaccount:<namespace>:<Vault server ServiceAccount>
    production: bool
    tags: Mapping[str, str]
    lock: bool = False  # a CanNotDelete lock (locks)
    # The vault's firewall: the Vault pods come in through a private endpoint in `network`;
    # `allowed_ranges` (the administrators') may use the data plane for the one-time init.
    network: Subnets | None = None
    allowed_ranges: tuple[str, ...] = ()


class VaultUnsealKey(pulumi.ComponentResource):
    key_vault_name: pulumi.Output[str]
    key_name: str
    client_id: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: VaultUnsealKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:VaultUnsealKey", name, None, opts)
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=args.resource_group_name,
            location=args.location,
            vault_name=args.key_vault_name,
            properties=vault_properties(
                args.tenant_id,
                retention_days=90 if args.production else 7,
                # Losing this key loses every secret in Vault: it can never be purged early.
                purge_protection=True,
                # Without a network to come in through, or with no range for the one-time init
                # off production, the firewall stays open (dev).
                acls=network_acls(args.allowed_ranges)
                if args.network is not None and (args.production or args.allowed_ranges)
                else None,
            ),
            tags=dict(args.tags),
            # The stored name stays when the derivation changes: a new vault would be a new
            # key, and Vault could never unseal again.
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.production, ignore_changes=["vaultName"]
            ),
        )
        if args.lock:
            delete_lock(name, self, scope=vault.id, what="Vault's unseal key")
        if args.network is not None:
            private_access(
                name,
                self,
                vault_id=vault.id,
                resource_group_name=args.resource_group_name,
                location=args.location,
                vnet_id=args.network.vnet_id,
                subnet_id=args.network.private_endpoint_subnet_id,
                tags=args.tags,
                private_dns_zone_id=args.network.key_vault_private_dns_zone_id,
            )
        key = keyvault.Key(
            f"{name}-key",
            resource_group_name=args.resource_group_name,
            vault_name=vault.name,
            key_name=UNSEAL_KEY_NAME,
            properties={"kty": "RSA", "key_size": 3072, "key_ops": ["wrapKey", "unwrapKey"]},
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.production),
        )
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
            role=KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
            scope=vault.id,
            guid=vault.name.apply(
                lambda name: naming.role_assignment_name(
                    name, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, "vault-unseal"
                )
            ),
            subscription_id=args.subscription_id,
            principal_id=identity.principal_id,
            description="vault-unseal",
        )
        self.key_vault_name = vault.name
        self.key_name = UNSEAL_KEY_NAME
        self.client_id = identity.client_id
        self.ready = [key, federation, grant]
        self.register_outputs({"keyVaultName": self.key_vault_name, "clientId": self.client_id})
