"""Delete locks on production (issue 21): the state of record (AKS clusters, Key Vaults,
PostgreSQL flexible servers, storage accounts: an ha Vault's snapshots) carries a CanNotDelete
(or ReadOnly) management lock. A stack rule: a lock is found through its scope, which the
program sets from the resource's id (a property dependency; the id itself is unknown until
the resource exists)."""

from __future__ import annotations

import re

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from ..common import (
    AZURE_NATIVE_TYPE,
    MANAGED_CLUSTER_TYPE,
    is_unknown,
    production_reason,
    stack_resource_check,
)

LOCKED_TYPES = (
    MANAGED_CLUSTER_TYPE,
    re.compile(AZURE_NATIVE_TYPE.format(module="keyvault", name="Vault")),
    re.compile(AZURE_NATIVE_TYPE.format(module="dbforpostgresql", name="Server")),
    re.compile(AZURE_NATIVE_TYPE.format(module="storage", name="StorageAccount")),
)
LOCK_TYPE = re.compile(
    AZURE_NATIVE_TYPE.format(
        module="authorization", name="ManagementLock(?:ByScope|AtResourceLevel)"
    )
)
DELETE_LOCK_LEVELS = ("CanNotDelete", "ReadOnly")


def _locked_urns(args: StackValidationArgs, report_violation: ReportViolation) -> set[str]:
    """URNs of the resources a delete lock of the stack names through any of its inputs."""
    found: set[str] = set()
    for lock in args.resources:
        if not LOCK_TYPE.match(lock.resource_type):
            continue
        check = stack_resource_check(args, lock, report_violation)
        level = check.get(lock.props, "level")
        if is_unknown(level) or level not in DELETE_LOCK_LEVELS:
            continue
        for targets in (lock.property_dependencies or {}).values():
            found |= {t.urn for t in targets}
    return found


def _needs_lock(resource: PolicyResource) -> bool:
    return any(t.match(resource.resource_type) for t in LOCKED_TYPES)


def validate_delete_locks(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    locked = _locked_urns(args, report_violation)
    for resource in args.resources:
        if not _needs_lock(resource):
            continue
        check = stack_resource_check(args, resource, report_violation)
        reason = production_reason(check)
        if reason and resource.urn not in locked:
            check.violation(
                f"no CanNotDelete management lock on this production resource ({reason}): it "
                "holds the state of record (health data, secrets, or the cluster they run "
                "in). Keep `locks` on (a ManagementLockByScope whose scope is its id)"
            )
