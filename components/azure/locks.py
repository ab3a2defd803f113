"""CanNotDelete management locks on the state of record (`locks`, on by default on production):
the cluster, the Key Vaults, the managed database. Azure refuses to delete a locked resource,
and anything under it (an agent pool, a role assignment scoped to it), whoever asks: the portal,
the Azure CLI, another tool, CI's identity (which may create locks, not delete them). Lifting
one is deliberate (docs/operations.md, "Delete locks"). Nothing waits for a lock: it follows
the resource it locks, off the first deploy's critical path."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

LOCK_NAME = "aidbox-secrets-do-not-delete"
NOTES = (
    "aidbox-secrets: production state of record ({what}). "
    "Lift deliberately: docs/operations.md, 'Delete locks'"
)


def delete_lock(
    name: str, parent: pulumi.Resource, *, scope: pulumi.Input[str], what: str
) -> authorization.ManagementLockByScope:
    """`<name>-lock` on the resource whose id is `scope`."""
    return authorization.ManagementLockByScope(
        f"{name}-lock",
        scope=scope,
        lock_name=LOCK_NAME,
        level=authorization.LockLevel.CAN_NOT_DELETE,
        notes=NOTES.format(what=what),
        opts=pulumi.ResourceOptions(parent=parent),
    )
