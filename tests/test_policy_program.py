"""The program passes its own policy pack, for every stack file and mode: a change that breaks
a policy turns the suite red here, before `pulumi preview --policy-pack policy` would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from harness import AZURE_DEV, ROOT, VAULT_DEV, VAULT_HA, StackRun, run_stack, stack_config
from test_policy import make_args, rules
from test_policy_aks import stack_args

LICENSE = "aidbox-secrets:aidboxLicense"
PUBLIC_AUTOSCALED = {
    "host": "fhir.example.org",
    "tls": {"secretName": "fhir-tls"},
    "autoscaling": {"minReplicas": 2, "maxReplicas": 4},
}
CASES: dict[str, tuple[dict, list[str], str]] = {
    path.name: (stack_config(path), [], path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
    for path in sorted(Path(ROOT).glob("Pulumi.*.yaml"))
}
CASES["Pulumi.prod.yaml"][0][LICENSE] = "test-license"
CASES["Pulumi.prod.yaml"][1].append(LICENSE)
CASES |= {
    "azure-workload": ({**AZURE_DEV, "azure": {"identity": "workload"}}, [], "dev"),
    "azure-addon": ({**AZURE_DEV, "csi": {"install": "aksAddon"}}, [], "dev"),
    "azure-deployer-ci": (
        {**AZURE_DEV, "keyVault": {"deployerOfficer": "ServicePrincipal"}},
        [],
        "dev",
    ),
    "azure-legacy-env": ({**AZURE_DEV, "aidbox": {"legacySecretFileEnv": True}}, [], "dev"),
    "azure-public-autoscaled": ({**AZURE_DEV, "aidbox": PUBLIC_AUTOSCALED}, [], "dev"),
    "vault-public-monitored": (
        {**VAULT_DEV, "aidbox": PUBLIC_AUTOSCALED, "csi": {"metrics": "serviceMonitor"}},
        [],
        "dev",
    ),
    "vault-external": (
        {**VAULT_DEV, "vault": {"mode": "external", "address": "https://v:8200", "token": "t"}},
        ["vault"],
        "dev",
    ),
    "vault-ha": ({**VAULT_HA, "vault": {"mode": "ha", "token": "t"}}, ["vault"], "dev"),
    "vault-ha-production": (
        {
            **VAULT_HA,
            "production": True,
            "cluster": {**VAULT_HA["cluster"], "apiServerAuthorizedRanges": ["203.0.113.0/28"]},
            "aidbox": {"replicas": 2},
            "vault": {"mode": "ha", "token": "t"},
            LICENSE: "test-license",
        },
        ["vault", LICENSE],
        "prod",
    ),
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
    for policy in rules.POLICIES:
        if policy not in rules.RESOURCE_POLICIES:
            policy.validate(
                stack_args(outputs),
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
