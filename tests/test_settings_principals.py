"""Who administers the cluster and who may rotate Key Vault secrets: Entra ID principals named
in config, checked before any resource exists. Nothing is taken from whoever runs `pulumi up`."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import SettingsError, parse_settings
from components.settings.principals import Principal

SECRETS = {"client-secret": {"scope": "Client/basic"}}
NIL = "00000000-0000-0000-0000-000000000000"
GROUP = "0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
USER = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
CI = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
# Production settings that meet every other rule.
PROD = {
    "production": True,
    "aidboxLicense": "lic",
    "aidbox": {
        "replicas": 2,
        "image": "healthsamurai/aidboxone:2605.0",
        "internal": {"baseUrl": "https://fhir.example.org"},
    },
    "azure": {"identity": "workload"},
}
PROD_CLUSTER = {"apiServerAuthorizedRanges": ["203.0.113.0/28"]}


def parse(raw: dict[str, Any]):
    return parse_settings(
        {"secretStore": "azure", "secrets": SECRETS, **raw},
        project="aidbox-secrets",
        stack="dev",
        location="westeurope",
        secret_keys=frozenset({"aidboxLicense"}),
    )


def refused(raw: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as error:
        parse(raw)
    return str(error.value)


def test_cluster_admins_are_configured_principals_of_each_type() -> None:
    admins = [
        {"objectId": GROUP, "type": "Group"},
        {"objectId": USER, "type": "User"},
        {"objectId": CI, "type": "ServicePrincipal"},
    ]
    c = parse({"cluster": {"clusterAdmins": admins}}).cluster
    assert c.cluster_admins == (
        Principal(GROUP, "Group"),
        Principal(USER, "User"),
        Principal(CI, "ServicePrincipal"),
    )


def test_admin_groups_are_cluster_admins_too_and_nobody_by_default() -> None:
    assert parse({}).cluster.admins == ()
    c = parse(
        {
            "cluster": {
                "adminGroupObjectIds": [GROUP],
                "clusterAdmins": [{"objectId": USER, "type": "User"}],
            }
        }
    ).cluster
    assert c.admins == (Principal(GROUP, "Group"), Principal(USER, "User"))


def test_what_users_rightly_write_is_accepted() -> None:
    # Entra ID shows object ids in lower case; Azure's principal types in any case are meant.
    c = parse(
        {
            "cluster": {
                "adminGroupObjectIds": [GROUP.upper()],
                "clusterAdmins": [
                    {"objectId": GROUP, "type": "group"},  # the same group twice: once
                    {"objectId": CI.upper(), "type": "serviceprincipal"},
                ],
            }
        }
    ).cluster
    assert c.admins == (Principal(GROUP, "Group"), Principal(CI, "ServicePrincipal"))


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        (
            {"clusterAdmins": [{"objectId": "platform-admins", "type": "Group"}]},
            ["cluster.clusterAdmins[0].objectId = 'platform-admins'", "GUID", "az ad group show"],
        ),
        (
            {"clusterAdmins": [{"objectId": GROUP, "type": "Team"}]},
            ["cluster.clusterAdmins[0].type = 'Team'", "'Group', 'User', 'ServicePrincipal'"],
        ),
        (
            {"clusterAdmins": [{"objectId": GROUP}]},
            ["cluster.clusterAdmins[0].type = None", "required"],
        ),
        (
            {"clusterAdmins": [{"type": "User"}]},
            ["cluster.clusterAdmins[0].objectId = None", "required"],
        ),
        (
            {"clusterAdmins": [{"objectId": GROUP, "type": "Group", "role": "admin"}]},
            ["cluster.clusterAdmins[0].role = 'admin'", "unknown key", "objectId", "type"],
        ),
        (
            {"clusterAdmins": [GROUP]},
            ["cluster.clusterAdmins[0] = '0f6b", "{objectId, type}"],
        ),
        (
            {"clusterAdmins": {"objectId": GROUP, "type": "Group"}},
            ["cluster.clusterAdmins = {", "a list"],
        ),
        (
            {"clusterAdmins": [{"objectId": NIL, "type": "User"}]},
            [f"cluster.clusterAdmins[0].objectId = '{NIL}'", "nil", "placeholder"],
        ),
        (
            {
                "adminGroupObjectIds": [GROUP],
                "clusterAdmins": [{"objectId": GROUP, "type": "User"}],
            },
            ["cluster.clusterAdmins[0].type = 'User'", "Group", "adminGroupObjectIds"],
        ),
        (
            {"deployerPrincipalType": "ServicePrincipal"},
            [
                "cluster.deployerPrincipalType = 'ServicePrincipal'",
                "removed",
                "cluster.clusterAdmins",
                "pulumi config rm --path cluster.deployerPrincipalType",
            ],
        ),
    ],
)
def test_bad_cluster_admins_are_refused_naming_key_value_and_what_is_allowed(
    cluster: dict[str, Any], expected: list[str]
) -> None:
    message = refused({"cluster": cluster})
    for text in expected:
        assert text in message


@pytest.mark.parametrize(
    ("key_vault", "expected"),
    [
        (
            {"secretsOfficers": [{"objectId": "rotators", "type": "Group"}]},
            ["keyVault.secretsOfficers[0].objectId = 'rotators'", "GUID"],
        ),
        (
            {"secretsOfficers": [{"objectId": USER, "type": "user-account"}]},
            ["keyVault.secretsOfficers[0].type = 'user-account'", "'ServicePrincipal'"],
        ),
        (
            {"deployerOfficer": "User"},
            [
                "keyVault.deployerOfficer = 'User'",
                "removed",
                "keyVault.secretsOfficers",
                "pulumi config rm --path keyVault.deployerOfficer",
            ],
        ),
    ],
)
def test_bad_secrets_officers_are_refused(key_vault: dict[str, Any], expected: list[str]) -> None:
    message = refused({"keyVault": key_vault})
    for text in expected:
        assert text in message


def test_secrets_officers_are_configured_principals() -> None:
    officers = [{"objectId": GROUP, "type": "Group"}, {"objectId": CI, "type": "ServicePrincipal"}]
    kv = parse({"keyVault": {"secretsOfficers": officers}}).azure.key_vault  # type: ignore[union-attr]
    assert kv.secrets_officers == (Principal(GROUP, "Group"), Principal(CI, "ServicePrincipal"))
    assert parse({}).azure.key_vault.secrets_officers == ()  # type: ignore[union-attr]


def test_production_refuses_a_cluster_nobody_administers() -> None:
    """Local accounts are off on production: without a configured admin only CI's identity
    (granted by the bootstrap, outside the stack) could reach the cluster in an incident."""
    message = refused({**PROD, "cluster": PROD_CLUSTER})
    assert "cluster.clusterAdmins = [] is not valid" in message
    assert "adminGroupObjectIds" in message and "production" in message
    with_group = {**PROD_CLUSTER, "adminGroupObjectIds": [GROUP]}
    assert parse({**PROD, "cluster": with_group}).cluster.admins == (Principal(GROUP, "Group"),)
    listed = {**PROD_CLUSTER, "clusterAdmins": [{"objectId": GROUP, "type": "Group"}]}
    assert parse({**PROD, "cluster": listed}).production
    # Dev: nobody but CI is fine (the bootstrap grants CI cluster admin ahead of time).
    assert parse({"cluster": PROD_CLUSTER}).cluster.admins == ()
