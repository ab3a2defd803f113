"""What state and consumers depend on, pinned per stack file and mode: each resource's type,
logical name and parent (its URN), the names it has in Azure, Kubernetes, Helm and Vault, and
the stack output names.

A change here is a replacement in production (a new Key Vault, a re-created role assignment, a
Helm release installed twice) or a broken consumer of an output. When it is meant, add an alias
where state must follow, then update the snapshots and review their diff:
`UPDATE_SNAPSHOTS=1 python -m pytest tests/test_identity.py`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from cases import CASES, run
from harness import Registered, StackRun

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "identity"
# Inputs that name a resource where it lives: changing one replaces it.
IDENTITY_KEYS = (
    "name",
    "namespace",
    "resourceGroupName",
    "resourceName",
    "agentPoolName",
    "vaultName",
    "registryName",
    "policyAssignmentName",
    "secretName",
    "serverName",
    "databaseName",
    "configurationName",
    "privateZoneName",
    "roleAssignmentName",
    "scope",
    "principalType",
    "mount",
    "path",
    "backend",
    "roleName",
    "issuer",
    "subject",
    "networkSecurityGroupName",
    "routeTableName",
    "azureFirewallName",
    "firewallPolicyName",
    "ruleCollectionGroupName",
    "publicIpAddressName",
    "lockName",
)


def _parent_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def _identity(resource: Registered) -> dict[str, Any]:
    props = resource.props
    found = {k: props[k] for k in IDENTITY_KEYS if isinstance(props.get(k), str | int)}
    metadata = props.get("metadata") or {}
    found |= {f"metadata.{k}": metadata[k] for k in ("name", "namespace") if k in metadata}
    return dict(sorted(found.items()))


def snapshot(stack_run: StackRun) -> dict[str, Any]:
    resources = {}
    for resource in stack_run.resources:
        key = f"{resource.type} {resource.name} <- {_parent_name(resource.parent) or '(stack)'}"
        assert key not in resources, f"two registrations of {key}"
        resources[key] = _identity(resource)
    return {"outputs": sorted(stack_run.outputs), "resources": dict(sorted(resources.items()))}


@pytest.mark.parametrize("case", CASES)
def test_state_identities_and_output_names_are_pinned(case: str) -> None:
    path = SNAPSHOTS / f"{case.removesuffix('.yaml')}.yaml"
    current = snapshot(run(case))
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(current, sort_keys=False, width=200))
    assert path.is_file(), f"{path} is missing: create it with UPDATE_SNAPSHOTS=1"
    pinned = yaml.safe_load(path.read_text())
    problems = []
    for kind in ("outputs",):
        if pinned[kind] != current[kind]:
            problems.append(f"stack outputs {pinned[kind]} -> {current[kind]}")
    before, after = pinned["resources"], current["resources"]
    problems += [f"gone (or renamed): {k}" for k in before if k not in after]
    problems += [f"new: {k}" for k in after if k not in before]
    problems += [
        f"{k}: {before[k]} -> {after[k]}" for k in before if k in after and before[k] != after[k]
    ]
    assert not problems, (
        f"{case}: identities that state depends on changed (see this module's docstring):\n"
        + "\n".join(problems)
    )
