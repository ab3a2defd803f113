"""Role assignments: to Entra ID principals named in config (cluster admins, secrets officers),
one per principal on one scope, never to whoever runs `pulumi up`; and to the managed identities
the program's workloads run as."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import authorization

from .. import naming
from ..settings.principals import Principal
from .roles import role_definition_id

# The policy pack (policy/) tells these operator grants from workload grants by this prefix.
OPERATOR_DESCRIPTION = "deployer: "


def assignment_name(scope_id: str, principal_id: str, role: str) -> str:
    """The assignment's name (a GUID): the same on every run, whoever runs it, and unique in
    the tenant as Azure requires (the scope's id holds the subscription). Case-folded: Azure
    compares resource ids without case, and some providers return `resourcegroups`."""
    return naming.role_assignment_name(scope_id.lower(), principal_id.lower(), role)


def grant_identity(
    name: str,
    parent: pulumi.Resource,
    *,
    role: str,
    scope: pulumi.Input[str],
    guid: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    description: str,
    depends_on: Sequence[pulumi.Resource] = (),
    replace_first: bool = True,
) -> authorization.RoleAssignment:
    """`role` on `scope` for a managed identity, as assignment `guid` (stable for the grant).
    Its principal type is stated, not looked up: a just-created identity may not have
    replicated yet (PrincipalNotFound otherwise). With `replace_first`, a new principal under
    the same GUID deletes the old assignment first, as Azure requires."""
    return authorization.RoleAssignment(
        name,
        role_assignment_name=guid,
        scope=scope,
        role_definition_id=pulumi.Output.from_input(subscription_id).apply(
            lambda sub: role_definition_id(sub, role)
        ),
        principal_id=principal_id,
        principal_type="ServicePrincipal",
        description=f"aidbox-secrets: {description}",
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on) or None,
            delete_before_replace=True if replace_first else None,
        ),
    )


def grant_principals(
    name: str,
    parent: pulumi.Resource,
    *,
    scope: pulumi.Output[str],
    subscription_id: pulumi.Input[str],
    role: str,
    principals: Sequence[Principal],
    description: str,
) -> list[authorization.RoleAssignment]:
    """`role` on `scope` for each principal; logical names `<name>-<object id>`."""
    definition = pulumi.Output.from_input(subscription_id).apply(
        lambda sub: role_definition_id(sub, role)
    )
    return [
        authorization.RoleAssignment(
            f"{name}-{principal.object_id}",
            role_assignment_name=scope.apply(
                lambda s, who=principal.object_id: assignment_name(s, who, role)
            ),
            scope=scope,
            role_definition_id=definition,
            principal_id=principal.object_id,
            principal_type=principal.type,
            description=OPERATOR_DESCRIPTION + description,
            # A principal's type changed keeps the GUID: the old assignment must go first.
            opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=True),
        )
        for principal in principals
    ]
