"""The program passes its own policy pack, for every stack file and mode: a change that breaks
a policy turns the suite red here, before `pulumi preview --policy-pack policy` would."""

from __future__ import annotations

import copy
import dataclasses

import cases
import pytest
from harness import (
    AZURE_DEV,
    VAULT_HA_PRODUCTION,
    VAULT_HA_PRODUCTION_SECRETS,
    VAULT_PUBLIC,
    StackRun,
    run_stack,
)
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy
from test_policy import make_args, rules
from test_policy_aks import stack_args

GROUP, USER = "0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
AUTOMATION = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
# Every stack file and mode of tests/cases.py, and a few settings that change what is declared.
CASES: dict[str, tuple[dict, list[str], str]] = {
    case.id: (dict(case.config), list(case.secret_keys), case.stack)
    for case in cases.CASES.values()
}
CASES |= {
    # Operators of every principal type: cluster admins and secrets officers.
    "azure-operators": (
        {
            **AZURE_DEV,
            "cluster": {
                "adminGroupObjectIds": [GROUP],
                "clusterAdmins": [
                    {"objectId": USER, "type": "User"},
                    {
                        "objectId": AUTOMATION,
                        "type": "ServicePrincipal",
                    },
                ],
            },
            "keyVault": {
                "secretsOfficers": [
                    {"objectId": GROUP, "type": "Group"},
                    {"objectId": USER, "type": "User"},
                    {
                        "objectId": AUTOMATION,
                        "type": "ServicePrincipal",
                    },
                ]
            },
        },
        [],
        "dev",
    ),
    "azure-legacy-env": ({**AZURE_DEV, "aidbox": {"legacySecretFileEnv": True}}, [], "dev"),
    "vault-public-monitored": (VAULT_PUBLIC, [], "dev"),
    "vault-ha-production": (VAULT_HA_PRODUCTION, list(VAULT_HA_PRODUCTION_SECRETS), "prod"),
}


def violations(run: StackRun, production: bool) -> list[str]:
    found: list[str] = []
    for resource in run.resources:
        if not resource.custom:
            continue
        for policy in rules.RESOURCE_POLICIES:
            config = {"production": True} if production else None
            args = make_args(resource.type, resource.props, name=resource.name, config=config)
            policy.validate(
                args, lambda message, urn=None, p=policy: found.append(f"{p.name}: {message}")
            )
    outputs = {key: run.output(key) for key in run.outputs}
    stack = stack_args(outputs).resources
    config = {"production": True} if production else None
    for policy in rules.POLICIES:
        if policy not in rules.RESOURCE_POLICIES:
            policy.validate(
                StackValidationArgs([*stack, *policy_resources(run)], config),
                lambda message, urn=None, p=policy: found.append(f"{p.name}: {message}"),
            )
    return found


def policy_resources(run: StackRun) -> list[PolicyResource]:
    """The run's resources as a stack policy sees them: inputs, and the resources each input
    came from (property dependencies)."""
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    found: dict[str, PolicyResource] = {}
    for r in run.resources:
        if r.custom:
            props = unknown_checking_proxy(copy.deepcopy(r.props))
            found[r.urn] = PolicyResource(r.type, props, r.urn, r.name, options, None, None, [], {})
    for r in run.resources:
        if r.urn in found:
            deps = {
                key: [found[u] for u in urns if u in found]
                for key, urns in r.property_dependencies.items()
            }
            found[r.urn].property_dependencies = deps
            found[r.urn].dependencies = [found[u] for u in r.dependencies if u in found]
    return list(found.values())


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_program_meets_every_policy(case: str) -> None:
    config, secret_keys, stack = CASES[case]
    run = run_stack(config, secret_keys=secret_keys, stack=stack)
    assert violations(run, production=stack == "prod") == []


def test_production_without_its_locks_or_its_firewall_is_reported() -> None:
    """The stack rules see the program's own resources: drop the locks, or the firewall's
    route, and the pack says so."""
    run = cases.run("Pulumi.prod.yaml")
    assert violations(run, production=True) == []
    unlocked = StackRun([r for r in run.resources if "ManagementLock" not in r.type], run.outputs)
    assert any(v.startswith("azure-delete-locks-production") for v in violations(unlocked, True))
    cluster = run.one("azure-native:containerservice:ManagedCluster")
    props = cluster.props
    props["networkProfile"]["outboundType"] = "loadBalancer"
    open_egress = StackRun(
        [dataclasses.replace(r, inputs=props) if r is cluster else r for r in run.resources],
        run.outputs,
    )
    assert any(
        v.startswith("aks-egress-filtered-production") for v in violations(open_egress, True)
    )


def test_a_broken_rule_is_reported() -> None:
    run = run_stack(AZURE_DEV)
    deployment = run.k8s("apps/v1:Deployment", "aidbox")
    props = deployment.props
    props["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["subPath"] = "x"
    broken = StackRun([dataclasses.replace(deployment, inputs=props)])
    assert any("subPath" in v for v in violations(broken, production=False))
