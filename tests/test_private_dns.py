"""An existing cluster in a corporate network (cluster.mode existingAks): its network already
resolves `privatelink.vaultcore.azure.net` (a zone linked in the hub, or custom DNS), and Azure
refuses a second link of that zone name to a network. Given the existing zone's id, the
program creates no zone and no link: only the private endpoint's zone group pointing at it.
Likewise for the managed database's zone."""

from __future__ import annotations

import pytest
from harness import AZURE_DEV, VAULT_DEV, VAULT_HA_INIT, depends_on, run_stack
from test_cluster_modes import EXISTING, EXISTING_AZURE, PE_SUBNET

from components.settings import Settings, SettingsError, parse_settings

ZONES = (
    "/subscriptions/00000000-0000-0000-0000-00000000000d/resourceGroups/rg-dns/providers/"
    "Microsoft.Network/privateDnsZones/"
)
KV_ZONE = ZONES + "privatelink.vaultcore.azure.net"
PG_ZONE = ZONES + "clinic.private.postgres.database.azure.com"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
WITH_ZONES = {
    **EXISTING_AZURE,
    "network": {
        **EXISTING_AZURE["network"],
        "keyVaultPrivateDnsZoneId": KV_ZONE,
        "postgresPrivateDnsZoneId": PG_ZONE,
    },
}


def settings(raw: dict) -> Settings:
    return parse_settings(
        {k: v for k, v in raw.items() if ":" not in k}, project="aidbox-secrets", stack="dev"
    )


# --- settings ----------------------------------------------------------------------------------


def test_existing_zone_ids_are_read() -> None:
    network = settings(WITH_ZONES).network
    assert network.key_vault_private_dns_zone_id == KV_ZONE
    assert network.postgres_private_dns_zone_id == PG_ZONE
    # Azure spells resource ids in any case.
    lower = settings(
        {
            **WITH_ZONES,
            "network": {**WITH_ZONES["network"], "keyVaultPrivateDnsZoneId": KV_ZONE.lower()},
        }
    )
    assert lower.network.key_vault_private_dns_zone_id == KV_ZONE.lower()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # Another service's zone: the vault's name would never resolve through it.
        ("keyVaultPrivateDnsZoneId", ZONES + "privatelink.blob.core.windows.net", "vaultcore"),
        ("keyVaultPrivateDnsZoneId", ZONES + "privatelink.vaultcore.azure.net/", "vaultcore"),
        ("keyVaultPrivateDnsZoneId", PE_SUBNET, "privateDnsZones"),
        ("keyVaultPrivateDnsZoneId", "privatelink.vaultcore.azure.net", "resource id"),
        (
            "keyVaultPrivateDnsZoneId",
            KV_ZONE.replace("00000000-0000-0000-0000-00000000000d", "my-subscription"),
            "resource id",
        ),
        ("postgresPrivateDnsZoneId", KV_ZONE, "postgres.database.azure.com"),
        ("postgresPrivateDnsZoneId", ZONES + "postgres.database.azure.com.evil", "postgres"),
        ("postgresPrivateDnsZoneId", ["a"], "string"),
    ],
)
def test_a_zone_id_of_the_wrong_shape_is_refused(key: str, value: object, expected: str) -> None:
    raw = {**WITH_ZONES, "network": {**WITH_ZONES["network"], key: value}}
    with pytest.raises(SettingsError, match=f"network.{key} = .*{expected}"):
        settings(raw)


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        # The program creates the network in aks mode, and links its own zones to it.
        (
            {**AZURE_DEV, "network": {"keyVaultPrivateDnsZoneId": KV_ZONE}},
            "keyVaultPrivateDnsZoneId",
            "only with cluster.mode existingAks",
        ),
        (
            {**AZURE_DEV, "network": {"postgresPrivateDnsZoneId": PG_ZONE}},
            "postgresPrivateDnsZoneId",
            "only with cluster.mode existingAks",
        ),
        # No Key Vault (a dev Vault in the cluster): no endpoint to resolve.
        (
            {**VAULT_DEV, "cluster": EXISTING, "network": {"keyVaultPrivateDnsZoneId": KV_ZONE}},
            "keyVaultPrivateDnsZoneId",
            "secretStore azure or vault.mode ha",
        ),
        # No managed database.
        (
            {
                **EXISTING_AZURE,
                "postgres": {"mode": "inCluster"},
                "network": {
                    "privateEndpointSubnetId": PE_SUBNET,
                    "postgresPrivateDnsZoneId": PG_ZONE,
                },
            },
            "postgresPrivateDnsZoneId",
            "postgres.mode azureFlexible",
        ),
    ],
)
def test_a_zone_id_where_it_means_nothing_is_refused(raw: dict, key: str, expected: str) -> None:
    with pytest.raises(SettingsError, match=f"network.{key} = .*{expected}"):
        settings(raw)


def test_kubeconfig_mode_refuses_the_zone_ids() -> None:
    raw = {
        **VAULT_DEV,
        "cluster": {"mode": "kubeconfig", "kubeconfigPath": "tests/data/kubeconfig.yaml"},
        "network": {"keyVaultPrivateDnsZoneId": KV_ZONE},
    }
    with pytest.raises(SettingsError, match=r"network\.keyVaultPrivateDnsZoneId"):
        settings(raw)


# --- wiring ------------------------------------------------------------------------------------


def test_the_key_vault_endpoint_registers_in_the_existing_zone() -> None:
    run = run_stack(WITH_ZONES)
    assert not run.of_type(ZONE) and not run.of_type(LINK)
    (group,) = run.of_type(ZONE_GROUP)
    assert group.props["privateDnsZoneConfigs"] == [{"name": "vault", "privateDnsZoneId": KV_ZONE}]
    (endpoint,) = run.of_type("azure-native:network:PrivateEndpoint")
    assert endpoint.props["subnet"] == {"id": PE_SUBNET}


def test_the_managed_database_uses_the_existing_zone() -> None:
    run = run_stack(WITH_ZONES)
    server = run.one("azure-native:dbforpostgresql:Server")
    assert server.props["network"]["privateDnsZoneArmResourceId"] == PG_ZONE
    assert not depends_on(server)  # no link of its own to wait for


def test_an_ha_vaults_unseal_endpoint_registers_in_the_existing_zone() -> None:
    # ... and its snapshot storage's endpoint in the existing blob zone (vault.snapshots).
    blob_zone = KV_ZONE.replace(
        "privatelink.vaultcore.azure.net", "privatelink.blob.core.windows.net"
    )
    config = {
        **VAULT_HA_INIT,
        "vault": {**VAULT_HA_INIT["vault"], "snapshots": {"privateDnsZoneId": blob_zone}},
        "cluster": EXISTING,
        "network": {"privateEndpointSubnetId": PE_SUBNET, "keyVaultPrivateDnsZoneId": KV_ZONE},
    }
    run = run_stack(config, secret_keys=["vault"])
    assert not run.of_type(ZONE) and not run.of_type(LINK)
    groups = {
        g.name: g.props["privateDnsZoneConfigs"][0]["privateDnsZoneId"]
        for g in run.of_type(ZONE_GROUP)
    }
    assert groups == {
        "store-unseal-endpoint-dns": KV_ZONE,
        "store-snapshots-endpoint-dns": blob_zone,
    }


def test_without_a_zone_id_the_program_links_its_own() -> None:
    run = run_stack(EXISTING_AZURE)
    zones = {z.props["privateZoneName"] for z in run.of_type(ZONE)}
    assert "privatelink.vaultcore.azure.net" in zones
    assert any(z.endswith(".private.postgres.database.azure.com") for z in zones)
