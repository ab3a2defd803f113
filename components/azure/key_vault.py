"""Azure Key Vault in RBAC mode behind its firewall (a private endpoint in the virtual network,
the administrators' ranges), its audit log, its secrets, and the grants on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, keyvault, monitor

from .. import naming
from ..passwords import seed_value
from ..settings import KeyVaultSettings, SecretSpec
from .grants import grant_identity, grant_principals
from .locks import delete_lock
from .private_dns import private_endpoint
from .roles import KEY_VAULT_SECRETS_OFFICER, KEY_VAULT_SECRETS_USER

PRIVATE_DNS_ZONE = "privatelink.vaultcore.azure.net"


def network_acls(allowed_ranges: Sequence[str]) -> dict:
    """Deny by default. The cluster comes in through the private endpoint (which the firewall
    does not filter); `allowed_ranges` are for people and CI on the data plane; trusted Azure
    services (e.g. Azure Monitor, Backup) bypass. Azure Resource Manager, through which
    Pulumi writes the secrets, is the control plane and is not filtered."""
    return {
        "default_action": keyvault.NetworkRuleAction.DENY,
        "bypass": keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
        "ip_rules": [{"value": cidr} for cidr in allowed_ranges],
        "virtual_network_rules": [],
    }


def vault_properties(
    tenant_id: pulumi.Input[str],
    *,
    retention_days: int,
    purge_protection: bool,
    acls: dict | None,
    public_network_access: str | None = None,
) -> dict:
    """A Key Vault in RBAC mode with soft delete: every vault this program creates."""
    return {
        "tenant_id": tenant_id,
        "sku": {"family": keyvault.SkuFamily.A, "name": keyvault.SkuName.STANDARD},
        "enable_rbac_authorization": True,
        "enable_soft_delete": True,
        "soft_delete_retention_in_days": retention_days,
        # Azure accepts only true here, and never turns it off again: omit when off.
        "enable_purge_protection": True if purge_protection else None,
        "public_network_access": public_network_access,
        "network_acls": acls,
    }


def private_access(
    name: str,
    parent: pulumi.Resource,
    *,
    vault_id: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    tags: Mapping[str, str],
    private_dns_zone_id: str | None = None,
) -> None:
    """A vault's private address in the virtual network, and the private DNS zone that makes
    <vault>.vault.azure.net resolve to it from the cluster's nodes and pods: the program's own,
    linked to the network, or (`private_dns_zone_id`) one the network already resolves through,
    such as a hub's (Azure refuses a second link of the same zone name to a network)."""
    private_endpoint(
        name,
        parent,
        target_id=vault_id,
        group_id="vault",
        zone_name=PRIVATE_DNS_ZONE,
        resource_group_name=resource_group_name,
        location=location,
        vnet_id=vnet_id,
        subnet_id=subnet_id,
        tags=tags,
        private_dns_zone_id=private_dns_zone_id,
    )


@dataclass(frozen=True)
class KeyVaultArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    settings: KeyVaultSettings
    # The vault's name unless keyVault.name is set: naming.key_vault_name for this deployment.
    derived_name: pulumi.Input[str]
    secrets: Sequence[SecretSpec]
    tags: Mapping[str, str]
    vnet_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    private_dns_zone_id: str | None = None  # an existing privatelink.vaultcore.azure.net zone
    protect: bool = False
    lock: bool = False  # a CanNotDelete lock (locks)
    seeds: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # managed secrets


class KeyVault(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    secret_names: list[str]

    def __init__(
        self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:KeyVault", name, None, opts)
        self._name, self._args = name, args
        configured = args.settings.name
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=args.resource_group_name,
            location=args.location,
            vault_name=configured or args.derived_name,
            properties=vault_properties(
                args.tenant_id,
                retention_days=args.settings.retention_days,
                purge_protection=args.settings.purge_protection,
                acls=network_acls(args.settings.allowed_ranges),
                public_network_access="Enabled",
            ),
            tags=dict(args.tags),
            # A derived name identifies the vault the stack already has: when the derivation
            # changes (as it did from the organization to the subscription), the stored name
            # stays, or the vault and its secrets would be replaced. A configured name wins,
            # and renaming it is a deliberate replacement.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                ignore_changes=None if configured else ["vaultName"],
            ),
        )
        if args.lock:
            delete_lock(name, self, scope=vault.id, what="the Key Vault of the secrets")
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri)
        private_access(
            name,
            self,
            vault_id=vault.id,
            resource_group_name=args.resource_group_name,
            location=args.location,
            vnet_id=args.vnet_id,
            subnet_id=args.private_endpoint_subnet_id,
            tags=args.tags,
            private_dns_zone_id=args.private_dns_zone_id,
        )
        monitor.DiagnosticSetting(
            f"{name}-audit",
            name="audit-to-log-analytics",
            resource_uri=vault.id,
            workspace_id=args.workspace_id,
            logs=[{"category": "AuditEvent", "enabled": True}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_names = [spec.name for spec in args.secrets]
        self.secrets = [self._secret(name, vault, spec) for spec in args.secrets]
        self._by_name = dict(zip(self.secret_names, self.secrets, strict=True))
        grant_principals(
            f"{name}-officer",
            self,
            scope=vault.id,
            subscription_id=args.subscription_id,
            role=KEY_VAULT_SECRETS_OFFICER,
            principals=args.settings.secrets_officers,
            description="rotates secrets (aidbox-secrets keyVault.secretsOfficers)",
        )
        self.register_outputs(
            {"vaultName": self.vault_name, "vaultUri": self.vault_uri, "vaultId": self.vault_id}
        )

    def _secret(self, name: str, vault: keyvault.Vault, spec: SecretSpec) -> keyvault.Secret:
        value = seed_value(name, spec, self, self._args.seeds)
        return keyvault.Secret(
            f"{name}-{spec.name}",
            resource_group_name=self._args.resource_group_name,
            vault_name=vault.name,
            secret_name=spec.name,
            properties={"value": pulumi.Output.secret(value), "content_type": "text/plain"},
            # The value seeds the secret once. A rotation done in the vault
            # (az keyvault secret set) must survive the next `pulumi up`, and any update of
            # this resource would write a new version with the old value.
            # Removed from the config, the secret stays in the vault (docs/operations.md,
            # "Rotate"): deleted, soft delete would hold its name and refuse it when it is added
            # again, and the provider deletes through the data plane, which the vault's firewall
            # closes.
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["properties"],
                additional_secret_outputs=["properties"],
                retain_on_delete=True,
            ),
        )

    def grant_reader(
        self, *, principal_id: pulumi.Input[str], grantee: str
    ) -> authorization.RoleAssignment:
        """Key Vault Secrets User on this vault only, to the identity the CSI driver reads it
        with. `grantee` names that identity stably for the GUID."""
        role = KEY_VAULT_SECRETS_USER
        return grant_identity(
            f"{self._name}-{grantee}",
            self,
            role=role,
            scope=self.vault_id,
            # From the name the vault has (the stored one, on an older stack): the GUID the
            # stack already holds.
            guid=self.vault_name.apply(
                lambda vault: naming.role_assignment_name(vault, role, grantee)
            ),
            subscription_id=self._args.subscription_id,
            principal_id=principal_id,
            description=grantee,
        )

    def grant_secret_reader(
        self, *, principal_id: pulumi.Input[str], grantee: str, secret: str
    ) -> authorization.RoleAssignment:
        """Key Vault Secrets User on one secret of this vault (scope `<vault id>/secrets/
        <name>`: Key Vault RBAC assigns roles on single secrets, Microsoft's "Provide access to
        Key Vault keys, certificates, and secrets with Azure RBAC"), for an identity that must
        not read the others."""
        role = KEY_VAULT_SECRETS_USER
        return grant_identity(
            f"{self._name}-{grantee}-{secret}",
            self,
            role=role,
            scope=pulumi.Output.concat(self.vault_id, "/secrets/", secret),
            guid=self.vault_name.apply(
                lambda vault: naming.role_assignment_name(vault, role, grantee, secret)
            ),
            subscription_id=self._args.subscription_id,
            principal_id=principal_id,
            description=f"{grantee} reads {secret}",
            # The secret must exist before a role can be assigned on it.
            depends_on=[self._by_name[secret]],
        )
