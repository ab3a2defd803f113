"""Derived names are always valid, stable and distinct where they must be."""

from __future__ import annotations

import random
import string
import uuid

import pytest

from components import naming

SCOPE = naming.deployment_scope("00000000-0000-0000-0000-000000000001", "rg-aidbox-secrets-dev")


@pytest.mark.parametrize(
    "project,stack",
    [
        ("aidbox-secrets", "dev"),
        ("aidbox-secrets", "dev-vault"),
        ("aidbox-secrets", "prod"),
        ("x", "y"),
        ("---", "..."),
        ("9lives", "1"),
        ("Very_Long.Project.Name.With.Dots", "feature.branch-123_ABC"),
    ],
)
def test_derived_key_vault_name_is_valid(project: str, stack: str) -> None:
    name = naming.key_vault_name(project, stack, SCOPE)
    assert naming.is_valid_key_vault_name(name), name
    assert name == naming.key_vault_name(project, stack, SCOPE)  # stable


def test_derived_key_vault_name_is_valid_for_random_inputs() -> None:
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-_."
    for _ in range(2000):
        project = "".join(rng.choices(alphabet, k=rng.randint(1, 60)))
        stack = "".join(rng.choices(alphabet, k=rng.randint(1, 60)))
        name = naming.key_vault_name(project, stack, SCOPE)
        assert naming.is_valid_key_vault_name(name), (project, stack, name)


def test_key_vault_name_differs_per_stack_and_deployment() -> None:
    names = {
        naming.key_vault_name("aidbox-secrets", stack, naming.deployment_scope(sub, "rg"))
        for stack in ("dev", "prod")
        for sub in ("a", "b")
    }
    assert len(names) == 4
    assert naming.key_vault_name("aidbox-secrets", "dev", SCOPE).startswith("kv-aidbox-secr-dev-")


@pytest.mark.parametrize(
    "name,valid",
    [
        ("kv-aidbox", True),
        ("abc", True),
        ("ab", False),
        ("a--b", False),
        ("-ab", False),
        ("ab-", False),
        ("1ab", False),
        ("a" * 24, True),
        ("a" * 25, False),
        ("a_b", False),
    ],
)
def test_key_vault_name_rule(name: str, valid: bool) -> None:
    assert naming.is_valid_key_vault_name(name) is valid


@pytest.mark.parametrize(
    "name,valid",
    [
        ("client-secret", True),
        ("a", True),
        ("1", True),
        ("-a", False),
        ("a-", False),
        ("A", False),
        ("a_b", False),
        ("a.b", False),
        ("a/b", False),
        ("", False),
        ("a" * 127, True),
        ("a" * 128, False),
    ],
)
def test_secret_name_rule(name: str, valid: bool) -> None:
    assert naming.is_valid_secret_name(name) is valid


def test_role_assignment_name_is_a_stable_guid_per_grant() -> None:
    first = naming.role_assignment_name("kv-a", "role", "kubelet")
    assert str(uuid.UUID(first)) == first
    assert first == naming.role_assignment_name("kv-a", "role", "kubelet")
    assert first != naming.role_assignment_name("kv-a", "role", "workload")
    assert first != naming.role_assignment_name("kv-b", "role", "kubelet")


def test_azure_resource_names() -> None:
    assert naming.resource_group_name("aidbox-secrets", "dev") == "rg-aidbox-secrets-dev"
    assert naming.cluster_name("aidbox-secrets", "dev.1") == "aks-aidbox-secrets-dev-1"
    assert len(naming.cluster_name("p" * 80, "s")) <= 63
