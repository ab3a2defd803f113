"""Delete locks (issue 21 #4): on production, a CanNotDelete management lock on the state of
record (the cluster, every Key Vault, the managed database) and the resource group `protect`ed;
a setting turns the locks off on dev, and production refuses that."""

from __future__ import annotations

from typing import Any

import cases
import pytest
from doc_pages import Pointer, pointers, unresolved
from harness import (
    AZURE_DEV,
    VAULT_HA_PRODUCTION,
    VAULT_HA_PRODUCTION_SECRETS,
    StackRun,
    run_stack,
)

from components.settings import SettingsError, parse_settings

LOCK = "azure-native:authorization:ManagementLockByScope"
LOCKED = {
    "azure-native:containerservice:ManagedCluster",
    "azure-native:keyvault:Vault",
    "azure-native:dbforpostgresql:Server",
}
SNAPSHOTS = "azure-native:storage:StorageAccount"


def lock_of(run: StackRun, resource: Any) -> Any | None:
    """The lock whose scope is `resource`'s id (an output of it, so a property dependency)."""
    found = [r for r in run.of_type(LOCK) if resource.urn in r.property_dependencies["scope"]]
    assert len(found) <= 1, [r.name for r in found]
    return found[0] if found else None


def locked_resources(run: StackRun) -> list:
    return [r for r in run.resources if r.type in LOCKED]


def test_production_locks_its_state_of_record() -> None:
    run = cases.run("Pulumi.prod.yaml")
    targets = locked_resources(run)
    # prod: the cluster, the Key Vault, the flexible server.
    assert sorted(r.type for r in targets) == sorted(LOCKED)
    assert len(run.of_type(LOCK)) == len(targets)
    for resource in targets:
        lock = lock_of(run, resource)
        assert lock is not None, resource.name
        assert lock.props["level"] == "CanNotDelete"
        assert lock.props["lockName"] == "aidbox-secrets-do-not-delete"
        # The notes name the page and section that say how to lift it, and both exist.
        (pointer,) = pointers(lock.props["notes"])
        assert pointer == Pointer("docs/operations.md", "Delete locks")
        assert unresolved(pointer) is None
        # Nothing waits for a lock: it stays off the first deploy's critical path.
        assert not [r for r in run.resources if lock.urn in r.dependencies]


def test_production_protects_the_resource_group() -> None:
    group = cases.run("Pulumi.prod.yaml").one("azure-native:resources:ResourceGroup")
    assert group.opts is not None and group.opts.protect is True
    dev = cases.run("Pulumi.dev.yaml").one("azure-native:resources:ResourceGroup")
    assert not (dev.opts and dev.opts.protect)


def test_an_ha_vault_unseal_key_vault_and_snapshots_are_locked_too() -> None:
    """Losing the unseal key loses every secret Vault holds; the snapshots are its backups."""
    run = run_stack(VAULT_HA_PRODUCTION, secret_keys=VAULT_HA_PRODUCTION_SECRETS, stack="prod")
    vaults = run.of_type("azure-native:keyvault:Vault")
    assert len(vaults) == 1  # the unseal key's vault
    cluster = run.one("azure-native:containerservice:ManagedCluster")
    for resource in [*vaults, cluster, run.one(SNAPSHOTS)]:
        assert lock_of(run, resource) is not None, resource.name
    assert len(run.of_type(LOCK)) == 3


@pytest.mark.parametrize("file", ["Pulumi.dev.yaml", "Pulumi.dev-vault.yaml", "Pulumi.local.yaml"])
def test_dev_has_no_locks_by_default(file: str) -> None:
    assert not cases.run(file).of_type(LOCK)


def test_a_dev_stack_may_turn_locks_on() -> None:
    run = run_stack({**AZURE_DEV, "locks": True})
    assert len(run.of_type(LOCK)) == 2  # the cluster and the Key Vault
    assert lock_of(run, run.one("azure-native:keyvault:Vault")) is not None


def parse(raw: dict[str, Any], **kwargs: Any):
    return parse_settings(raw, project="aidbox-secrets", stack="dev", **kwargs)


def test_locks_follow_production_by_default() -> None:
    assert parse(AZURE_DEV_RAW).locks is False
    assert parse({**AZURE_DEV_RAW, "locks": "true"}).locks is True
    assert cases.settings("Pulumi.prod.yaml").locks is True


AZURE_DEV_RAW = {k: v for k, v in AZURE_DEV.items() if ":" not in k}


def test_kubeconfig_mode_has_nothing_in_azure_to_lock() -> None:
    raw = {
        "secretStore": "vault",
        "vault": {"mode": "dev"},
        "secrets": {"client-secret": {"scope": "Client/basic"}},
        "cluster": {"mode": "kubeconfig", "kubeconfigPath": str(cases.TEST_KUBECONFIG)},
        "locks": True,
    }
    with pytest.raises(SettingsError) as error:
        parse(raw, location=None)
    assert str(error.value).startswith("aidbox-secrets:locks = True is not valid: ")
    assert parse({**raw, "locks": False}, location=None).locks is False
