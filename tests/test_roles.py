"""One list of the roles the program assigns (components/azure/roles.py): it is exactly what the
program declares in every mode, and exactly what the CI bootstrap lets its identities assign."""

from __future__ import annotations

import subprocess

import cases
from harness import AZURE_DEV, ROOT, VAULT_HA_PRODUCTION, VAULT_HA_PRODUCTION_SECRETS, run_stack

from components.azure import roles

ROLE = "azure-native:authorization:RoleAssignment"
BOOTSTRAP = ROOT / "scripts" / "bootstrap-backend.sh"
OPERATORS = {
    **AZURE_DEV,
    "cluster": {
        "clusterAdmins": [{"objectId": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "type": "User"}]
    },
    "keyVault": {
        "secretsOfficers": [{"objectId": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "type": "User"}]
    },
}


def assigned_by_the_program() -> set[str]:
    """The role GUID of every RoleAssignment in every stack file and mode of tests/cases.py,
    with the grants that only settings switch on (operators, an `ha` Vault on production)."""
    runs = [cases.run(case) for case in cases.CASES]
    runs += [
        run_stack(OPERATORS),
        run_stack(VAULT_HA_PRODUCTION, secret_keys=VAULT_HA_PRODUCTION_SECRETS, stack="prod"),
    ]
    found = set()
    for run in runs:
        for grant in run.of_type(ROLE):
            role_id = grant.props["roleDefinitionId"]
            assert role_id.startswith("/subscriptions/"), role_id
            found.add(role_id.rsplit("/", 1)[1])
    return found


def test_the_role_list_is_what_the_program_assigns_in_every_mode() -> None:
    assert assigned_by_the_program() == set(roles.ASSIGNED)


def test_the_bootstrap_lets_ci_assign_exactly_the_programs_roles() -> None:
    result = subprocess.run(
        ["bash", str(BOOTSTRAP), "--print-assignable-roles"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == sorted(assigned_by_the_program())
