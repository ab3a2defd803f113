"""Azure Key Vault in RBAC mode, its secrets, and read grants on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault

from .. import naming
from ..passwords import seed_value
from ..settings import KeyVaultSettings, SecretSpec

SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"  # Key Vault Secrets User
SECRETS_OFFICER_ROLE = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"  # Key Vault Secrets Officer


def role_definition_id(subscription_id: str, role: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )


@dataclass(frozen=True)
class KeyVaultArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    settings: KeyVaultSettings
    secrets: Sequence[SecretSpec]
    tags: Mapping[str, str]
    protect: bool = False


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
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=args.resource_group_name,
            location=args.location,
            vault_name=args.settings.name,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": keyvault.SkuFamily.A, "name": keyvault.SkuName.STANDARD},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": args.settings.retention_days,
                # Azure accepts only true here, and never turns it off again: omit when off.
                "enable_purge_protection": True if args.settings.purge_protection else None,
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri)
        self.secret_names = [spec.name for spec in args.secrets]
        self.secrets = [self._secret(name, vault, spec) for spec in args.secrets]
        self.register_outputs(
            {"vaultName": self.vault_name, "vaultUri": self.vault_uri, "vaultId": self.vault_id}
        )

    def _secret(self, name: str, vault: keyvault.Vault, spec: SecretSpec) -> keyvault.Secret:
        value = seed_value(name, spec, self)
        return keyvault.Secret(
            f"{name}-{spec.name}",
            resource_group_name=self._args.resource_group_name,
            vault_name=vault.name,
            secret_name=spec.name,
            properties={"value": pulumi.Output.secret(value), "content_type": "text/plain"},
            # The value seeds the secret once. A rotation done in the vault
            # (az keyvault secret set) must survive the next `pulumi up`, and any update of
            # this resource would write a new version with the old value.
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["properties"],
                additional_secret_outputs=["properties"],
            ),
        )

    def grant(
        self,
        *,
        role: str,
        principal_id: pulumi.Input[str],
        grantee: str,
        principal_type: str = "ServicePrincipal",
    ) -> authorization.RoleAssignment:
        """Grant `role` on this vault only. `grantee` names the principal stably for the GUID."""
        return authorization.RoleAssignment(
            f"{self._name}-{grantee}",
            role_assignment_name=naming.role_assignment_name(
                self._args.settings.name, role, grantee
            ),
            scope=self.vault_id,
            role_definition_id=pulumi.Output.from_input(self._args.subscription_id).apply(
                lambda sub: role_definition_id(sub, role)
            ),
            principal_id=principal_id,
            # Stated, not looked up: a just-created managed identity may not have replicated
            # yet (PrincipalNotFound otherwise).
            principal_type=principal_type,
            description=f"aidbox-secrets: {grantee}",
            # Same GUID for a new principal: the old assignment must go first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
