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
    args = stack_args(outputs)
    config = {"production": True} if production else None
    resources = [
        PolicyResource(
            r.type,
            unknown_checking_proxy(copy.deepcopy(r.props)),
            r.urn,
            r.name,
            PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
            None,
            None,
            [],
            {},
        )
        for r in run.resources
        if r.custom
    ]
    for policy in rules.POLICIES:
        if policy not in rules.RESOURCE_POLICIES:
            policy.validate(
                StackValidationArgs([*args.resources, *resources], config),
                lambda message, urn=None, p=policy: found.append(f"{p.name}: {message}"),
            )
    return found


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_program_meets_every_policy(case: str) -> None:
    config, secret_keys, stack = CASES[case]
    run = run_stack(config, secret_keys=secret_keys, stack=stack)
    assert violations(run, production=stack == "prod") == []


def test_a_broken_rule_is_reported() -> None:
    run = run_stack(AZURE_DEV)
    deployment = run.k8s("apps/v1:Deployment", "aidbox")
    props = deployment.props
    props["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["subPath"] = "x"
    broken = StackRun([dataclasses.replace(deployment, inputs=props)])
    assert any("subPath" in v for v in violations(broken, production=False))
