"""Role assignments: least privilege for workloads and the deployer, scoped to one vault (or,
for reading secrets, one secret of it)."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import AZURE_NATIVE_TYPE, Check, is_unknown, show

# Azure built-in role definition GUIDs (the same in every subscription).
ROLE_KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ROLE_KV_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
ROLE_KV_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
# wrap/unwrap with a key, nothing on secrets: an `ha` Vault's auto-unseal identity.
ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
ROLE_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
# An `ha` Vault's snapshot job writes to one blob container.
ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_NAMES = {
    ROLE_AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    ROLE_KV_SECRETS_USER: "Key Vault Secrets User",
    ROLE_KV_SECRETS_OFFICER: "Key Vault Secrets Officer",
    ROLE_KV_ADMINISTRATOR: "Key Vault Administrator",
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    ROLE_OWNER: "Owner",
    ROLE_CONTRIBUTOR: "Contributor",
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
}
KEY_VAULT_DATA_ROLES = (
    ROLE_KV_SECRETS_USER,
    ROLE_KV_SECRETS_OFFICER,
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
)
# What a workload identity (principalType ServicePrincipal) may be granted.
WORKLOAD_ROLES = (
    ROLE_KV_SECRETS_USER,
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR,
)
# What the deployer's own grants may be: rotating by hand, and driving the cluster.
DEPLOYER_ROLES = (ROLE_KV_SECRETS_OFFICER, ROLE_AKS_RBAC_CLUSTER_ADMIN)
# The deployer's own grant (so they can rotate with `az keyvault secret set`) is recognised by
# its description: "deployer: ..." or the program's "aidbox-secrets: deployer".
DEPLOYER_DESCRIPTION = re.compile(r"^(?:deployer:|aidbox-secrets: deployer$)")
# One vault, nothing above it (subscription, resource group) and nothing below it (a secret).
SINGLE_VAULT_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+$",
    re.IGNORECASE,  # Azure resource IDs compare case-insensitively
)
# One blob container, nothing above it (the account, its group) and nothing below it.
SINGLE_CONTAINER_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/"
    r"[^/]+/blobServices/default/containers/[^/]+$",
    re.IGNORECASE,
)
# One secret of one vault: narrower still. Key Vault RBAC assigns a role on a single secret
# (Microsoft's Key Vault RBAC guide, "Secret scope role assignment"); the program does so for
# a workload identity that must read some of the vault's secrets and not the others.
SINGLE_SECRET_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+"
    r"/secrets/[^/]+$",
    re.IGNORECASE,
)
ROLE_ASSIGNMENT_TYPE = re.compile(
    AZURE_NATIVE_TYPE.format(module="authorization", name="RoleAssignment")
)


def role_guid(role_definition_id: str) -> str:
    """The GUID at the end of a role definition ID (or the ID itself if it is a bare GUID)."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _role_label(guid: str) -> str:
    name = ROLE_NAMES.get(guid)
    return f"'{name}' ({guid})" if name else f"role {guid}"


def validate_role_assignment(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if not ROLE_ASSIGNMENT_TYPE.match(args.resource_type):
        return
    check = Check(args, report_violation)
    props = args.props
    role_id = check.get(props, "roleDefinitionId")
    principal_type = check.get(props, "principalType")
    description = check.get(props, "description", default="")
    if is_unknown(role_id):
        check.undecided(role_id)
        check.finish()
        return
    if not isinstance(role_id, str) or not role_id:
        check.violation("roleDefinitionId is missing")
        check.finish()
        return
    guid = role_guid(role_id)

    # The deployer may be a user or, in CI, a service principal: its grant is known by its
    # description, and only Secrets Officer is allowed for it.
    deployer = isinstance(description, str) and bool(DEPLOYER_DESCRIPTION.match(description))
    if is_unknown(principal_type):
        check.undecided(principal_type)
    elif deployer and guid in DEPLOYER_ROLES:
        pass
    elif principal_type == "ServicePrincipal" and guid not in WORKLOAD_ROLES:
        check.violation(
            f"workload role assignment (principalType ServicePrincipal) grants "
            f"{_role_label(guid)}; a workload identity may only get "
            + " or ".join(_role_label(role) for role in WORKLOAD_ROLES)
        )
    elif principal_type != "ServicePrincipal" and guid == ROLE_KV_SECRETS_OFFICER:
        if is_unknown(description):
            check.undecided(description)
        else:
            check.violation(
                f"grants {_role_label(guid)} to principalType {show(principal_type)} with "
                f"description {show(description or None)}; only the deployer's rotation grant "
                "(description 'deployer: ...' or 'aidbox-secrets: deployer') may use Secrets "
                "Officer"
            )

    if guid in KEY_VAULT_DATA_ROLES:
        scope = check.get(props, "scope")
        # Secrets User may be narrowed to one secret; the other data roles act on a vault.
        secret_ok = guid == ROLE_KV_SECRETS_USER
        if is_unknown(scope):
            check.undecided(scope)
        elif not (
            isinstance(scope, str)
            and (
                SINGLE_VAULT_SCOPE.match(scope) or (secret_ok and SINGLE_SECRET_SCOPE.match(scope))
            )
        ):
            one_secret = " or one of its secrets (<vault id>/secrets/<name>)" if secret_ok else ""
            check.violation(
                f"grants {_role_label(guid)} at scope {show(scope)}; it must be scoped to "
                "exactly one vault: /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                f"Microsoft.KeyVault/vaults/<name>{one_secret} (no broader scope, no other "
                "sub-path)"
            )
    elif guid == ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR:
        scope = check.get(props, "scope")
        if is_unknown(scope):
            check.undecided(scope)
        elif not (isinstance(scope, str) and SINGLE_CONTAINER_SCOPE.match(scope)):
            check.violation(
                f"grants {_role_label(guid)} at scope {show(scope)}; it must be scoped to "
                "exactly one blob container: /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                "Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/"
                "<name>"
            )
    check.finish()
