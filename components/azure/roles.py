"""Every built-in Azure role the program assigns, in one place.

The components assign these and no other role; scripts/bootstrap-backend.sh lets the CI
identities assign exactly these (its conditioned "Role Based Access Control Administrator"),
reading this file with `runpy`, so it must stay free of imports. The tests check the list
against the role assignments the program declares in every mode (tests/test_roles.py).
"""

# The CSI driver's identity (kubelet, workload, add-on or service principal) reads the vault.
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
# keyVault.secretsOfficers: people (or automation) who rotate secrets by hand.
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
# An `ha` Vault's unseal identity: read, wrapKey and unwrapKey on keys (what Vault's
# azurekeyvault seal calls), nothing on secrets.
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
# An `ha` Vault's snapshot job: writes its snapshots to one blob container (no shared keys).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# cluster.clusterAdmins and cluster.adminGroupObjectIds, on the cluster.
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"

ASSIGNED = {
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    KEY_VAULT_SECRETS_OFFICER: "Key Vault Secrets Officer",
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
}


def role_definition_id(subscription_id: str, role: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )
