"""`keyVault` and `azure`: the Key Vault store and the identity that reads it."""

from __future__ import annotations

from dataclasses import dataclass

from .. import naming
from .principals import Principal, parse_principals
from .reader import Section, Sensitive
from .values import GUID_RULE, cidrs, is_guid

AZURE_IDENTITIES = ("kubelet", "workload", "servicePrincipal")
REMOVED = {
    "deployerOfficer": (
        "removed: whoever runs `pulumi up` is granted nothing any more; name who rotates "
        "secrets by hand in keyVault.secretsOfficers ([{objectId, type: "
        "Group|User|ServicePrincipal}]) (pulumi config rm --path keyVault.deployerOfficer)"
    ),
}


@dataclass(frozen=True)
class KeyVaultSettings:
    # Configured, or None: derived from the deployment when the program runs (its subscription
    # is known only then), see naming.key_vault_name.
    name: str | None = None
    purge_protection: bool = True
    retention_days: int = 90
    # Key Vault Secrets Officer on this vault, to rotate by hand (az keyvault secret set).
    secrets_officers: tuple[Principal, ...] = ()
    # Data-plane access from outside the virtual network (people and CI running
    # `az keyvault secret ...`). Pulumi itself writes secrets through Azure Resource Manager,
    # which the vault's firewall does not filter.
    allowed_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class AzureSettings:
    key_vault: KeyVaultSettings
    # Only Aidbox's pods can use a workload identity; the kubelet identity is every pod's on
    # the node. aks mode turns workload identity on; on an existing cluster it is checked.
    identity: str = "workload"
    client_id: Sensitive | None = None
    client_secret: Sensitive | None = None
    object_id: str | None = None


def parse_azure(top: Section, install: str) -> AzureSettings:
    kv = top.section("keyVault")
    for old, why in REMOVED.items():
        if kv.has(old):
            kv.fail(old, kv.data[old], why)
    kv.reject_unknown(
        ("name", "purgeProtection", "retentionDays", "secretsOfficers", "allowedRanges")
    )
    name = kv.string("name")
    if name is not None and not naming.is_valid_key_vault_name(name):
        kv.fail("name", name, f"Key Vault names are {naming.KEY_VAULT_NAME_RULE}")
    az = top.section("azure")
    az.reject_unknown(("identity", "clientId", "clientSecret", "objectId"))
    default = AzureSettings.identity
    identity = az.string("identity", default, choices=AZURE_IDENTITIES) or default
    if install == "aksAddon" and identity == "servicePrincipal":
        az.fail(
            "identity",
            identity,
            "with csi.install aksAddon the add-on reads the vault with its own identity "
            "(kubelet) or a workload identity (workload); Microsoft documents no "
            "service-principal mode for the add-on: install the driver with helm",
        )
    client_id, client_secret = az.sensitive("clientId"), az.sensitive("clientSecret")
    object_id = az.string("objectId")
    if identity == "servicePrincipal" and not (client_id and client_secret and object_id):
        az.fail(
            "identity",
            identity,
            "servicePrincipal needs azure.clientId and azure.clientSecret (set with "
            "`pulumi config set --secret --path azure.clientSecret ...`) and azure.objectId "
            "(the service principal's object id, granted read on the vault)",
        )
    if client_id and not is_guid(client_id.value):
        az.fail(
            "clientId", client_id, f"the service principal's application (client) id: {GUID_RULE}"
        )
    if object_id and not is_guid(object_id):
        az.fail("objectId", object_id, f"the service principal's object id: {GUID_RULE}")
    if identity != "servicePrincipal" and (client_id or client_secret or object_id):
        az.fail(
            "identity",
            identity,
            "azure.clientId/clientSecret/objectId need servicePrincipal",
        )
    return AzureSettings(
        key_vault=KeyVaultSettings(
            name=name,
            purge_protection=kv.boolean("purgeProtection", True),
            retention_days=kv.integer("retentionDays", 90, minimum=7, maximum=90),
            secrets_officers=parse_principals(kv, "secretsOfficers"),
            allowed_ranges=cidrs(kv, "allowedRanges"),
        ),
        identity=identity,
        client_id=client_id,
        client_secret=client_secret,
        object_id=object_id,
    )
