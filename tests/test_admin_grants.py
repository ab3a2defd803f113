"""Who the program grants what: configured Entra ID principals only, never whoever runs `pulumi
up`. Cluster admins on the cluster, secrets officers on the Key Vault, each assignment named by
a GUID from the scope's resource id, the principal and the role, the same for every deployer."""

from __future__ import annotations

import uuid
from typing import Any

import cases
import pytest
from harness import AZURE_DEV, DEPLOYER, SUBSCRIPTION, Mocks, StackRun, run_stack

from components import naming
from components.azure import roles

ROLE = "azure-native:authorization:RoleAssignment"
CLUSTER = "azure-native:containerservice:ManagedCluster"
PROVIDER = "pulumi:providers:kubernetes"
GROUP = "0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
USER = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
CI = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
OTHER_CALLER = "99999999-8888-4777-8666-555555555555"
ADMINS = {
    **AZURE_DEV,
    "cluster": {
        "adminGroupObjectIds": [GROUP],
        "clusterAdmins": [
            {"objectId": USER, "type": "User"},
            {"objectId": CI, "type": "ServicePrincipal"},
        ],
    },
    "keyVault": {
        "secretsOfficers": [
            {"objectId": GROUP, "type": "Group"},
            {"objectId": CI, "type": "ServicePrincipal"},
        ]
    },
}


class OtherCaller(Mocks):
    """Someone else runs `pulumi up`: another object id in the client config."""

    def call(self, args: Any) -> tuple[dict, list]:
        result, failures = super().call(args)
        if args.token == "azure-native:authorization:getClientConfig":
            result = {**result, "objectId": OTHER_CALLER, "clientId": "other-client"}
        return result, failures


def grants(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r.name: r.props for r in run.of_type(ROLE)}


STACK_FILES = [case for case in cases.CASES if case.startswith("Pulumi.")]


@pytest.mark.parametrize("case", [*STACK_FILES, "operators"])
def test_no_grant_depends_on_who_runs_up(case: str) -> None:
    """A person after CI (or the reverse) changes nothing: every committed stack file as CI
    runs it, and every kind of grant (admins and officers of each principal type)."""
    if case == "operators":
        config, secret_keys, stack = ADMINS, (), "dev"
    else:
        c = cases.CASES[case]
        config, secret_keys, stack = c.config, c.secret_keys, c.stack
    mine = run_stack(config, secret_keys=secret_keys, stack=stack)
    theirs = run_stack(config, secret_keys=secret_keys, stack=stack, mocks=OtherCaller())
    assert grants(mine) == grants(theirs)
    for name, props in grants(mine).items():
        assert DEPLOYER not in repr(props), f"{case}: {name} names the caller"


def test_cluster_admins_are_the_configured_principals_on_the_cluster() -> None:
    run = run_stack(ADMINS)
    cluster = run.one(CLUSTER)
    cluster_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-aidbox-secrets-dev/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster.props['resourceName']}"
    )
    admins = {
        name: props
        for name, props in grants(run).items()
        if props["roleDefinitionId"].endswith(roles.AKS_RBAC_CLUSTER_ADMIN)
    }
    assert {p["principalId"]: p["principalType"] for p in admins.values()} == {
        GROUP: "Group",
        USER: "User",
        CI: "ServicePrincipal",
    }
    for name, props in admins.items():
        assert name == f"aks-admin-{props['principalId']}"
        assert props["scope"] == cluster_id
        assert props["roleDefinitionId"] == (
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
            + roles.AKS_RBAC_CLUSTER_ADMIN
        )
        # Unique in the tenant (the scope holds the subscription), the same on every run.
        expected = naming.role_assignment_name(
            cluster_id.lower(), props["principalId"], roles.AKS_RBAC_CLUSTER_ADMIN
        )
        assert props["roleAssignmentName"] == expected
        assert uuid.UUID(props["roleAssignmentName"]).version == 5
        assert run.named(name).opts.delete_before_replace is True  # a type change: same GUID


def test_the_kubernetes_provider_does_not_wait_for_people_grants() -> None:
    """CI reaches the cluster through the bootstrap's grant, made ahead of time; the grants to
    people are not on the deploy's path (their propagation takes minutes)."""
    run = run_stack(ADMINS)
    provider = run.one(PROVIDER, "aks-k8s")
    admin_urns = {r.urn for r in run.of_type(ROLE) if r.name.startswith("aks-admin-")}
    assert admin_urns and not admin_urns & set(provider.dependencies)


def test_secrets_officers_are_the_configured_principals_on_the_vault() -> None:
    run = run_stack(ADMINS)
    vault = run.one("azure-native:keyvault:Vault").props["vaultName"]
    vault_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-aidbox-secrets-dev/providers/"
        f"Microsoft.KeyVault/vaults/{vault}"
    )
    officers = {
        name: props
        for name, props in grants(run).items()
        if props["roleDefinitionId"].endswith(roles.KEY_VAULT_SECRETS_OFFICER)
    }
    assert {p["principalId"]: p["principalType"] for p in officers.values()} == {
        GROUP: "Group",
        CI: "ServicePrincipal",
    }
    for name, props in officers.items():
        assert name == f"store-kv-officer-{props['principalId']}"
        assert props["scope"] == vault_id
        assert props["roleAssignmentName"] == naming.role_assignment_name(
            vault_id.lower(), props["principalId"], roles.KEY_VAULT_SECRETS_OFFICER
        )


def test_nobody_is_granted_by_default() -> None:
    run = run_stack(AZURE_DEV)
    assert [name for name in grants(run) if "admin" in name or "officer" in name] == []
