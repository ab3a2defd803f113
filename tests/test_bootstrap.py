"""scripts/bootstrap-backend.sh, run for real against a stand-in Azure CLI (tests/data/
stand-in-az.py: Azure cannot run here), which logs every call: one identity per trust level,
each federated to its trigger's subject only, each with the rights its jobs need and no right
over a higher trust level; the bootstrapping user gets what `pulumi login` and `stack init`
need; the CI identities may assign exactly the roles the program assigns."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import ROOT

from components.azure import roles

BOOTSTRAP = ROOT / "scripts" / "bootstrap-backend.sh"
STAND_IN = ROOT / "tests" / "data" / "stand-in-az.py"
REPO = "octo-org/octo-repo"
NONPROD, PROD = "sub-nonprod", "sub-prod"
# Built-in role ids (docs/ci-cd.md names each).
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
AKS_RBAC_READER = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"
AKS_RBAC_CLUSTER_ADMIN = roles.AKS_RBAC_CLUSTER_ADMIN
# The cluster's Azure Policy assignments (cluster.azurePolicy): Contributor may not write them.
RESOURCE_POLICY_CONTRIBUTOR = "36243c78-bf99-498c-9df9-86d9f8d28608"
LOCK_WRITER = "aidbox-secrets lock writer"  # a custom role the script defines

STORAGE = f"/subscriptions/{PROD}/resourceGroups/rg/providers/Microsoft.Storage/account"
CONTAINER = f"{STORAGE}/blobServices/default/containers/pulumi-state"
PROD_CONTAINER = f"{STORAGE}/blobServices/default/containers/pulumi-state-prod"
VAULT = f"/subscriptions/{PROD}/resourceGroups/rg/providers/Microsoft.KeyVault/kv"
KEY = f"{VAULT}/keys/pulumi-stack-secrets"
PROD_KEY = f"{VAULT}/keys/pulumi-stack-secrets-prod"
PREVIEW = "principal-id-aidbox-secrets-github-preview"
DEPLOY = "principal-id-aidbox-secrets-github-deploy"
PRODUCTION = "principal-id-aidbox-secrets-github-prod"


@dataclass(frozen=True)
class Grant:
    principal: str
    principal_type: str
    role: str
    scope: str
    condition: str = ""


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1] if name in args else ""


def bootstrap(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], list]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # -I -S: no site packages or user environment, the quickest start for ~120 calls a run.
    (bin_dir / "az").write_text(f'#!/bin/sh\nexec python3 -I -S "{STAND_IN}" "$@"\n')
    (bin_dir / "az").chmod(0o755)
    log = tmp_path / "az.log"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "STAND_IN_AZ_LOG": str(log),
        "STAND_IN_AZ_SUBSCRIPTION": NONPROD,
    }
    result = subprocess.run(
        ["bash", str(BOOTSTRAP), "--github-repo", REPO, "--subject-format", "names", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], list]:
    result, calls = bootstrap(tmp_path_factory.mktemp("bootstrap"), "--prod-subscription", PROD)
    assert result.returncode == 0, result.stderr
    return result, calls


def grants(calls: list[list[str]]) -> set[Grant]:
    return {
        Grant(
            option(c, "--assignee-object-id"),
            option(c, "--assignee-principal-type"),
            option(c, "--role"),
            option(c, "--scope"),
            option(c, "--condition"),
        )
        for c in calls
        if c[:3] == ["role", "assignment", "create"]
    }


def without_conditions(found: set[Grant], principal: str) -> set[tuple[str, str]]:
    return {(g.role, g.scope) for g in found if g.principal == principal}


def test_each_identity_is_federated_to_its_trigger_only(run) -> None:
    federations = {
        option(c, "--identity-name"): (option(c, "--subject"), c)
        for c in run[1]
        if c[:3] == ["identity", "federated-credential", "create"]
    }
    assert {name: subject for name, (subject, _) in federations.items()} == {
        "id-aidbox-secrets-github-preview": f"repo:{REPO}:pull_request",
        "id-aidbox-secrets-github-deploy": f"repo:{REPO}:ref:refs/heads/main",
        "id-aidbox-secrets-github-prod": f"repo:{REPO}:environment:prod",
    }
    for _, call in federations.values():
        assert option(call, "--issuer") == "https://token.actions.githubusercontent.com"
        assert option(call, "--audiences") == "api://AzureADTokenExchange"


def test_the_preview_identity_reads_non_production_only(run) -> None:
    assert without_conditions(grants(run[1]), PREVIEW) == {
        (READER, f"/subscriptions/{NONPROD}"),
        (AKS_CLUSTER_USER, f"/subscriptions/{NONPROD}"),
        (AKS_RBAC_READER, f"/subscriptions/{NONPROD}"),
        (BLOB_READER, CONTAINER),
        (CRYPTO_USER, KEY),
    }


def test_the_deploy_identity_deploys_non_production_only(run) -> None:
    assert without_conditions(grants(run[1]), DEPLOY) == {
        (CONTRIBUTOR, f"/subscriptions/{NONPROD}"),
        (RBAC_ADMINISTRATOR, f"/subscriptions/{NONPROD}"),
        (AKS_RBAC_CLUSTER_ADMIN, f"/subscriptions/{NONPROD}"),
        (RESOURCE_POLICY_CONTRIBUTOR, f"/subscriptions/{NONPROD}"),
        (LOCK_WRITER, f"/subscriptions/{NONPROD}"),
        (BLOB_CONTRIBUTOR, CONTAINER),
        (CRYPTO_USER, KEY),
    }


def test_only_the_production_identity_reaches_production(run) -> None:
    found = grants(run[1])
    assert without_conditions(found, PRODUCTION) == {
        (CONTRIBUTOR, f"/subscriptions/{PROD}"),
        (RBAC_ADMINISTRATOR, f"/subscriptions/{PROD}"),
        (AKS_RBAC_CLUSTER_ADMIN, f"/subscriptions/{PROD}"),
        (RESOURCE_POLICY_CONTRIBUTOR, f"/subscriptions/{PROD}"),
        (LOCK_WRITER, f"/subscriptions/{PROD}"),
        (BLOB_CONTRIBUTOR, PROD_CONTAINER),
        (CRYPTO_USER, PROD_KEY),
    }
    production_scopes = (f"/subscriptions/{PROD}", PROD_CONTAINER, PROD_KEY)
    for grant in found:
        if grant.principal in (PREVIEW, DEPLOY):
            assert grant.scope not in production_scopes, grant
            assert not grant.scope.startswith(f"/subscriptions/{PROD}/providers"), grant


def test_ci_may_assign_exactly_the_programs_roles(run) -> None:
    conditioned = [g for g in grants(run[1]) if g.role == RBAC_ADMINISTRATOR]
    assert {g.principal for g in conditioned} == {DEPLOY, PRODUCTION}
    for grant in conditioned:
        # Both halves of the condition (assigning and removing) name the same set.
        sets = re.findall(r"GuidEquals \{([^}]*)\}", grant.condition)
        assert len(sets) == 2
        for listed in sets:
            assert set(listed.split(", ")) == set(roles.ASSIGNED)


def test_ci_may_create_delete_locks_and_never_remove_one(run) -> None:
    """The program locks production's state of record; CI's identities may create and change
    those locks, not lift them (an Owner does that on purpose)."""
    (created,) = [c for c in run[1] if c[:3] == ["role", "definition", "create"]]
    role = json.loads(option(created, "--role-definition"))
    assert role["Name"] == LOCK_WRITER
    assert role["Actions"] == [
        "Microsoft.Authorization/locks/read",
        "Microsoft.Authorization/locks/write",
    ]
    assert role["AssignableScopes"] == [f"/subscriptions/{NONPROD}", f"/subscriptions/{PROD}"]
    holders = {g.principal for g in grants(run[1]) if g.role == LOCK_WRITER}
    assert holders == {DEPLOY, PRODUCTION}


def test_the_bootstrapping_user_can_log_in_and_init_every_stack(run) -> None:
    assert without_conditions(grants(run[1]), "bootstrapping-user") == {
        (CRYPTO_OFFICER, VAULT),  # this script creates the keys
        (BLOB_CONTRIBUTOR, CONTAINER),
        (BLOB_CONTRIBUTOR, PROD_CONTAINER),
        (CRYPTO_USER, KEY),
        (CRYPTO_USER, PROD_KEY),
    }
    output = run[0].stdout
    for variable in (
        "AZURE_PREVIEW_CLIENT_ID",
        "AZURE_DEPLOY_CLIENT_ID",
        "AZURE_PROD_CLIENT_ID",
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_PROD_SUBSCRIPTION_ID",
        "PULUMI_PROD_STATE_CONTAINER",
        "PULUMI_PROD_SECRETS_PROVIDER",
    ):
        assert f"gh variable set {variable} --repo {REPO} --body " in output
    assert "--body client-id-aidbox-secrets-github-prod" in output


GROUP = "0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, list]:
    """An admin group for the stack rights, and one subscription for both trust levels."""
    result, calls = bootstrap(
        tmp_path_factory.mktemp("variant"),
        *("--prod-subscription", NONPROD, "--single-subscription", "--admin-group", GROUP),
    )
    assert result.returncode == 0, result.stderr
    return result, calls


def test_an_admin_group_gets_the_stack_rights_instead(variant) -> None:
    found = grants(variant[1])
    storage = STORAGE.replace(PROD, NONPROD)
    key = KEY.replace(PROD, NONPROD)
    assert {(g.role, g.scope, g.principal_type) for g in found if g.principal == GROUP} == {
        (BLOB_CONTRIBUTOR, f"{storage}/blobServices/default/containers/pulumi-state", "Group"),
        (BLOB_CONTRIBUTOR, f"{storage}/blobServices/default/containers/pulumi-state-prod", "Group"),
        (CRYPTO_USER, key, "Group"),
        (CRYPTO_USER, f"{key}-prod", "Group"),
    }
    assert without_conditions(found, "bootstrapping-user") == {
        (CRYPTO_OFFICER, VAULT.replace(PROD, NONPROD))
    }


def test_one_subscription_only_when_asked_for(variant) -> None:
    # Refused without --single-subscription (test_refuses_what_would_mix_trust_levels).
    deploy = without_conditions(grants(variant[1]), DEPLOY)
    assert (CONTRIBUTOR, f"/subscriptions/{NONPROD}") in deploy


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "--prod-subscription is required"),
        (("--prod-subscription", NONPROD), "the deploy identity's rights would reach production"),
        (("--prod-subscription", PROD, "--prod-container", "pulumi-state"), "its own container"),
        (("--prod-subscription", PROD, "--admin-group", "platform-admins"), "object id"),
    ],
)
def test_refuses_what_would_mix_trust_levels(tmp_path: Path, extra: tuple, message: str) -> None:
    result, calls = bootstrap(tmp_path, *extra)
    assert result.returncode != 0
    assert message in result.stderr
    assert not grants(calls)


def test_immutable_subjects_carry_the_owner_and_repository_ids() -> None:
    result = subprocess.run(
        [
            *("bash", str(BOOTSTRAP), "--github-repo", REPO, "--subject-format", "ids"),
            *("--github-ids", "123456:456789", "--print-identities"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "preview AZURE_PREVIEW_CLIENT_ID repo:octo-org@123456/octo-repo@456789:pull_request",
        "deploy AZURE_DEPLOY_CLIENT_ID repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main",
        "prod AZURE_PROD_CLIENT_ID repo:octo-org@123456/octo-repo@456789:environment:prod",
    ]
