"""postgres.mode azureFlexible: Azure Database for PostgreSQL flexible server, reachable only
from the cluster's network, TLS required, its password the one in the store, built beside the
cluster; Aidbox's Deployment keeps its shape. For both stores."""

from __future__ import annotations

import pytest
from harness import (
    AZURE_TUNED,
    AZURE_TUNED_SECRETS,
    VAULT_PUBLIC,
    StackRun,
    is_secret,
    plain_strings,
    run_stack,
)

from components.azure.postgres_flexible import EXTENSIONS, server_properties
from components.settings.postgres import FlexibleServerSettings

SERVER = "azure-native:dbforpostgresql:Server"
CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
FLEXIBLE = {"mode": "azureFlexible", "azureFlexible": {"backupRetentionDays": 14}}
# Shared runs with the Azure database (and many other settings).
STORES = {"azure": (AZURE_TUNED, AZURE_TUNED_SECRETS), "vault": (VAULT_PUBLIC, ())}


@pytest.fixture(params=STORES, scope="module")
def run(request: pytest.FixtureRequest) -> StackRun:
    config, secret_keys = STORES[request.param]
    assert config["postgres"] == FLEXIBLE
    return run_stack(config, secret_keys=secret_keys)


def _env(run: StackRun) -> dict[str, dict]:
    pod = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    return {e["name"]: e for e in pod["containers"][0]["env"]}


def test_server_properties_follow_the_settings() -> None:
    ha = server_properties(FlexibleServerSettings(backup_retention_days=14))
    assert ha["high_availability"] == {"mode": "ZoneRedundant"}
    assert ha["backup"] == {"backup_retention_days": 14, "geo_redundant_backup": "Disabled"}
    assert ha["version"] == "16" and ha["sku"] == {
        "name": "Standard_D4ds_v5",
        "tier": "GeneralPurpose",
    }
    single = server_properties(
        FlexibleServerSettings(high_availability=False, geo_redundant_backup=True, version="17")
    )
    assert single["high_availability"] == {"mode": "Disabled"}
    assert single["backup"]["geo_redundant_backup"] == "Enabled" and single["version"] == "17"


def test_no_in_cluster_database(run: StackRun) -> None:
    assert not run.of_type("kubernetes:apps/v1:StatefulSet")
    assert not [r for r in run.resources if r.type.startswith("aidbox-secrets:aidbox:Postgres")]


def test_the_server_has_only_a_private_address_in_the_cluster_network(run: StackRun) -> None:
    server = run.one(SERVER).props
    network = server["network"]
    subnet = run.named("network-vnet").props["subnets"]
    assert network["publicNetworkAccess"] == "Disabled"
    assert network["delegatedSubnetResourceId"].endswith("/subnets/snet-postgres")
    assert "snet-postgres" in [s["name"] for s in subnet]
    zone = run.named("postgres-server-dns").props
    assert zone["privateZoneName"].endswith(".private.postgres.database.azure.com")
    assert network["privateDnsZoneArmResourceId"] == "postgres-server-dns-id"
    link = run.named("postgres-server-dns-link").props
    assert link["virtualNetwork"]["id"] == "network-vnet-id"
    assert (server["highAvailability"], server["backup"]["backupRetentionDays"]) == (
        {"mode": "ZoneRedundant"},
        14,
    )


def test_tls_is_required_and_aidbox_verifies_the_server(run: StackRun) -> None:
    # require_secure_transport is on by default on flexible server: the program sets only the
    # extension allow-list (one parameter change, on the first up's chain before Aidbox), and
    # Aidbox itself refuses an unencrypted or unverified connection (verify-full).
    parameters = [r.props["configurationName"] for r in run.of_type(CONFIGURATION)]
    assert parameters == ["azure.extensions"]
    extensions = run.named("postgres-server-extensions").props
    assert extensions["configurationName"] == "azure.extensions"
    assert set(extensions["value"].split(",")) == set(EXTENSIONS) >= {"PGCRYPTO", "PG_TRGM"}
    env = _env(run)
    assert env["AIDBOX_DB_PARAM_SSLMODE"]["value"] == "verify-full"
    server = run.one(SERVER).props
    assert env["BOX_DB_HOST"]["value"] == f"{server['serverName']}.postgres.database.azure.com"
    # Aidbox's own role, not the administrator (the role Job creates it).
    assert env["BOX_DB_USER"]["value"] == "aidbox_app" != server["administratorLogin"]


def test_the_password_is_the_stores_and_never_in_a_manifest(run: StackRun) -> None:
    server = run.one(SERVER)
    assert is_secret(server.inputs["administratorLoginPassword"])
    assert server.props["administratorLoginPassword"] == "generated-generated-db-password"
    # Aidbox's start script reads it from the store's file; no Kubernetes Secret holds it.
    assert "BOX_DB_PASSWORD" not in _env(run)
    command = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"][
        "containers"
    ][0]["command"]
    assert "/aidbox-db-app-password" in command[2]
    for resource in run.resources:
        leaked = [s for s in plain_strings(resource.inputs) if "generated-" in s]
        assert not leaked, f"{resource.type} {resource.name} holds {leaked}"


def test_aidbox_waits_for_the_server_and_the_server_not_for_the_cluster(run: StackRun) -> None:
    by_urn = {r.urn: r for r in run.resources}
    deployment = run.k8s("apps/v1:Deployment", "aidbox")
    waits = {by_urn[u].name for u in deployment.dependencies if u in by_urn}
    assert {"postgres-server-server", "postgres-server-database"} <= waits
    assert "postgres-server-extensions" in waits

    def upstream(urn: str, seen: set[str]) -> set[str]:
        for dep in by_urn[urn].dependencies:
            if dep in by_urn and dep not in seen:
                seen.add(dep)
                upstream(dep, seen)
        return seen

    server = run.one(SERVER)
    assert not [by_urn[u].name for u in upstream(server.urn, set()) if "aks" in by_urn[u].name]


def test_an_admin_password_rotated_outside_pulumi_is_not_put_back(run: StackRun) -> None:
    """The generated password only seeds the server: `az postgres flexible-server update
    --admin-password` (docs/operations.md, "Rotate") changes it on the server and in the
    store, and the next `pulumi up` must not send the seed again (issue 18 #6)."""
    server = run.one(SERVER)
    assert is_secret(server.inputs["administratorLoginPassword"])  # the first create sends it
    assert server.opts is not None
    assert "administratorLoginPassword" in (server.opts.ignore_changes or [])
    assert "administratorLoginPassword" in (server.opts.additional_secret_outputs or [])
