"""Vault settings for production (issue 19, Vault items 9-11): external addresses, the external
Vault's egress ranges, and an `ha` Vault's snapshots. Pure: settings in, settings or an error
naming key and value out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.settings import SettingsError, parse_settings
from components.settings.vault import api_path_problem
from components.settings.vault_snapshots import SnapshotSettings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
EXTERNAL = {"mode": "external", "address": "https://vault.example:8200", "token": "t"}
ADMIN_GROUP = "0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
CLUSTER = {"apiServerAuthorizedRanges": ["203.0.113.0/28"], "adminGroupObjectIds": [ADMIN_GROUP]}
PRODUCTION = {
    "production": True,
    "secretStore": "vault",
    "secrets": SECRETS,
    "aidboxLicense": "license",
    "aidbox": {
        "replicas": 2,
        "image": "healthsamurai/aidboxone:2605.0",
        "internal": {"baseUrl": "https://fhir.example.org"},
    },
    "cluster": CLUSTER,
}
ZONE = (
    "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-dns/providers/"
    "Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net"
)
SUBNETS = (
    "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-net/providers/"
    "Microsoft.Network/virtualNetworks/vnet-platform/subnets/"
)
EXISTING = {"mode": "existingAks", "name": "aks-platform", "resourceGroup": "rg-platform"}


def parse(raw: dict[str, Any], *, secret: bool = True) -> Any:
    return parse_settings(
        raw,
        project="aidbox-secrets",
        stack="prod",
        secret_keys=frozenset({"aidboxLicense", "vault"} if secret else {"aidboxLicense"}),
    )


def refused(raw: dict[str, Any], *, secret: bool = True) -> str:
    with pytest.raises(SettingsError) as error:
        parse(raw, secret=secret)
    return str(error.value)


def dev(vault: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"secretStore": "vault", "secrets": SECRETS, "vault": vault, **extra}


# --- item 9: external Vault addresses ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "https://vault.example:8200/v1",
        "https://vault.example:8200/v1/",
        "https://vault.example/prefix/v1",
        "https://vault.example:8200/v1/secret/data/aidbox",
        "https://vault.example:8200/V1",
    ],
)
def test_an_address_whose_path_the_client_would_double_is_refused_anywhere(address: str) -> None:
    # The address is named although `vault` is a secret key (it holds the token): an address is
    # no secret, it is the plain stack output vaultAddress.
    message = refused(dev({**EXTERNAL, "address": address}))
    assert message.startswith(f"aidbox-secrets:vault.address = {address!r} is not valid"), message
    assert "/v1/v1" in message


@pytest.mark.parametrize(
    "address",
    [
        "https://vault.example:8200",
        "https://vault.example:8200/",
        "https://vault.example/vault",
        # The API server's service proxy: a path prefix with a `v1` inside, not at its end.
        "https://aks.example:443/api/v1/namespaces/vault/services/https:vault:8200/proxy",
    ],
)
def test_an_address_with_a_path_prefix_is_accepted(address: str) -> None:
    assert api_path_problem(address) is None
    assert parse(dev({**EXTERNAL, "address": address})).vault.address == address


def test_plain_http_is_refused_on_production_naming_key_and_value() -> None:
    raw = {**PRODUCTION, "vault": {**EXTERNAL, "address": "http://vault.example:8200"}}
    raw["vault"]["egressCidrs"] = ["198.51.100.7"]
    message = refused(raw)
    assert message.startswith("aidbox-secrets:vault.address = 'http://vault.example:8200'")
    assert "https://" in message
    # Off production, plain http stays allowed (a lab Vault).
    assert parse({**raw, "production": False}).vault.address == "http://vault.example:8200"


@pytest.mark.parametrize("address", ["HTTP://vault.example:8200", "Http://vault.example"])
def test_plain_http_in_any_case_is_refused_on_production(address: str) -> None:
    raw = {**PRODUCTION, "vault": {**EXTERNAL, "address": address, "egressCidrs": ["192.0.2.0/28"]}}
    assert "vault.address" in refused(raw)


# --- item 10: the external Vault's egress ranges ------------------------------------------------


def test_egress_cidrs_are_read_for_an_external_vault() -> None:
    s = parse(dev({**EXTERNAL, "egressCidrs": ["198.51.100.7", "192.0.2.0/28"]}))
    assert s.vault.egress_cidrs == ("198.51.100.7/32", "192.0.2.0/28")


@pytest.mark.parametrize("mode", ["dev", "ha"])
def test_egress_cidrs_only_for_an_external_vault(mode: str) -> None:
    raw = dev({"mode": mode, "egressCidrs": ["198.51.100.7"]})
    raw["cluster"] = {"userPool": {"minCount": 3, "maxCount": 3}}
    message = refused(raw, secret=False)
    assert message.startswith("aidbox-secrets:vault.egressCidrs = "), message
    assert "only for vault.mode external" in message


def test_egress_cidrs_refuse_a_bad_range() -> None:
    message = refused(dev({**EXTERNAL, "egressCidrs": ["vault.example"]}))
    assert message.startswith("aidbox-secrets:vault.egressCidrs = (secret)"), message


def test_egress_cidrs_with_a_private_cluster_are_refused() -> None:
    raw = dev({**EXTERNAL, "egressCidrs": ["198.51.100.7"]}, cluster={"private": True})
    message = refused(raw)
    assert message.startswith("aidbox-secrets:vault.egressCidrs = (secret)"), message
    assert "private" in message


def test_egress_cidrs_with_a_kubeconfig_cluster_are_refused() -> None:
    kubeconfig = str(Path(__file__).parent / "data" / "kubeconfig.yaml")
    raw = dev(
        {**EXTERNAL, "egressCidrs": ["198.51.100.7"]},
        cluster={"mode": "kubeconfig", "kubeconfigPath": kubeconfig},
    )
    message = refused(raw)
    assert message.startswith("aidbox-secrets:vault.egressCidrs = "), message
    assert "kubeconfig" in message


def test_production_external_vault_names_its_egress_unless_the_cluster_is_private() -> None:
    raw = {**PRODUCTION, "vault": EXTERNAL}
    message = refused(raw)
    assert message.startswith("aidbox-secrets:vault.egressCidrs = "), message
    ok = parse({**raw, "vault": {**EXTERNAL, "egressCidrs": ["198.51.100.7"]}})
    assert ok.vault.egress_cidrs == ("198.51.100.7/32",)
    private = {**raw, "cluster": {"private": True, "adminGroupObjectIds": [ADMIN_GROUP]}}
    assert parse(private).vault.egress_cidrs == ()


# --- item 11: an ha Vault's snapshots -----------------------------------------------------------


HA = {"mode": "ha"}
THREE_NODES = {"userPool": {"minCount": 3, "maxCount": 3}}


def test_snapshots_are_on_by_default_for_ha_and_absent_otherwise() -> None:
    s = parse(dev(HA, cluster=THREE_NODES), secret=False)
    assert s.vault.snapshots == SnapshotSettings()
    assert s.vault.snapshots.enabled and s.vault.snapshots.retention_days == 30
    assert parse(dev({"mode": "dev"}), secret=False).vault.snapshots is None
    assert parse(dev(EXTERNAL)).vault.snapshots is None


def test_snapshot_settings_are_read() -> None:
    snapshots = {"schedule": "@daily", "retentionDays": 90}
    s = parse(dev({**HA, "snapshots": snapshots}, cluster=THREE_NODES), secret=False)
    assert s.vault.snapshots == SnapshotSettings(schedule="@daily", retention_days=90)


@pytest.mark.parametrize(
    ("snapshots", "key", "value"),
    [
        ({"schedule": "every hour"}, "schedule", "'every hour'"),
        ({"schedule": "0 * * *"}, "schedule", "'0 * * *'"),
        ({"schedule": "@sometimes"}, "schedule", "'@sometimes'"),
        ({"retentionDays": 0}, "retentionDays", "0"),
        ({"retentionDays": 3651}, "retentionDays", "3651"),
        ({"enabled": "yes"}, "enabled", "'yes'"),
        ({"privateDnsZoneId": "privatelink.blob.core.windows.net"}, "privateDnsZoneId", None),
        ({"schedul": "@daily"}, "schedul", None),
    ],
)
def test_bad_snapshot_settings_name_key_and_value(
    snapshots: dict[str, Any], key: str, value: str | None
) -> None:
    message = refused(dev({**HA, "snapshots": snapshots}, cluster=THREE_NODES), secret=False)
    assert message.startswith(f"aidbox-secrets:vault.snapshots.{key} = "), message
    if value is not None:
        assert message.startswith(f"aidbox-secrets:vault.snapshots.{key} = {value} "), message


@pytest.mark.parametrize("mode", ["dev", "external"])
def test_snapshots_only_for_ha(mode: str) -> None:
    vault = {**(EXTERNAL if mode == "external" else {"mode": "dev"}), "snapshots": {}}
    message = refused(dev(vault), secret=mode == "external")
    assert message.startswith("aidbox-secrets:vault.snapshots = "), message


def test_production_ha_without_snapshots_is_refused() -> None:
    raw = {
        **PRODUCTION,
        "vault": {**HA, "snapshots": {"enabled": False}},
        "cluster": {**CLUSTER, **THREE_NODES},
    }
    message = refused(raw, secret=False)
    assert message.startswith("aidbox-secrets:vault.snapshots.enabled = False"), message
    assert parse({**raw, "production": False}, secret=False).vault.snapshots.enabled is False
    on = {**raw, "vault": HA}
    assert parse(on, secret=False).vault.snapshots.enabled


def test_an_existing_blob_dns_zone_only_with_existing_aks() -> None:
    snapshots = {"privateDnsZoneId": ZONE}
    aks = refused(dev({**HA, "snapshots": snapshots}, cluster=THREE_NODES), secret=False)
    assert aks.startswith("aidbox-secrets:vault.snapshots.privateDnsZoneId = "), aks
    existing = dev(
        {**HA, "snapshots": snapshots},
        cluster=EXISTING,
        network={"privateEndpointSubnetId": SUBNETS + "endpoints"},
    )
    assert parse(existing, secret=False).vault.snapshots.private_dns_zone_id == ZONE
