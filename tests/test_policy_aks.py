"""The policy pack's production rules for AKS and the Key Vault network, and the stack-level
rule against credential-looking outputs: each with a passing and a failing case."""

from __future__ import annotations

import copy
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy
from test_policy import MANAGED_CLUSTER, VAULT, key_vault, make_args, rules

AGENT_POOL = "azure-native:containerservice:AgentPool"
PROD = {"production": True}


def cluster(**overrides: Any) -> dict[str, Any]:
    pool = {"name": "system", "mode": "System", "availabilityZones": ["1", "2", "3"]}
    props: dict[str, Any] = {
        "resourceName": "aks",
        "tags": {"environment": "non-production"},
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True},
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium"},
        "agentPoolProfiles": [pool, {**pool, "name": "user", "mode": "User"}],
    }
    props.update(overrides)
    return props


def violations(validator: Any, resource_type: str, props: dict, config: dict | None = PROD):
    found: list[str] = []
    validator(
        make_args(resource_type, props, name="aks", config=config),
        lambda message, urn=None: found.append(message),
    )
    return found


def test_local_accounts_must_be_disabled_on_production() -> None:
    check = rules.validate_aks_local_accounts
    assert violations(check, MANAGED_CLUSTER, cluster()) == []
    bad = cluster(disableLocalAccounts=False)
    assert "disableLocalAccounts is false" in violations(check, MANAGED_CLUSTER, bad)[0]
    assert (
        "disableLocalAccounts is unset"
        in violations(check, MANAGED_CLUSTER, cluster(disableLocalAccounts=None))[0]
    )
    # Not production: no rule.
    assert violations(check, MANAGED_CLUSTER, bad, config=None) == []


def test_entra_id_with_azure_rbac_on_production() -> None:
    check = rules.validate_aks_entra_rbac
    assert violations(check, MANAGED_CLUSTER, cluster()) == []
    bad = violations(check, MANAGED_CLUSTER, cluster(aadProfile={"managed": True}))
    assert len(bad) == 1 and "aadProfile.enableAzureRBAC is unset" in bad[0]
    assert len(violations(check, MANAGED_CLUSTER, cluster(aadProfile=None))) == 2


def test_network_policy_engine_on_production() -> None:
    check = rules.validate_aks_network_policy
    assert violations(check, MANAGED_CLUSTER, cluster()) == []
    bad = cluster(networkProfile={"networkPlugin": "azure"})
    assert "networkProfile.networkPolicy is unset" in violations(check, MANAGED_CLUSTER, bad)[0]


def test_every_pool_spans_zones_on_production() -> None:
    check = rules.validate_aks_zones
    assert violations(check, MANAGED_CLUSTER, cluster()) == []
    props = cluster()
    props["agentPoolProfiles"][1]["availabilityZones"] = ["1"]
    assert "agentPoolProfiles[1].availabilityZones" in violations(check, MANAGED_CLUSTER, props)[0]
    assert violations(check, AGENT_POOL, {"availabilityZones": ["1", "2"]}) == []
    assert "agent pool.availabilityZones is unset" in violations(check, AGENT_POOL, {})[0]


def test_key_vault_denies_by_default_on_production() -> None:
    check = rules.validate_key_vault_network
    assert violations(check, VAULT, key_vault()) == []
    open_vault = key_vault()
    open_vault["properties"]["networkAcls"]["defaultAction"] = "Allow"
    assert "defaultAction is 'Allow'" in violations(check, VAULT, open_vault)[0]
    del open_vault["properties"]["networkAcls"]
    assert "defaultAction is unset" in violations(check, VAULT, open_vault)[0]
    everyone = key_vault()
    everyone["properties"]["networkAcls"]["ipRules"] = [{"value": "0.0.0.0/0"}]
    assert "ipRules[0] is '0.0.0.0/0'" in violations(check, VAULT, everyone)[0]
    # The vault's own tag makes it production too.
    assert violations(check, VAULT, {**key_vault(), "properties": {}}, config=None)


def stack_args(outputs: dict[str, Any]) -> StackValidationArgs:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    stack = PolicyResource(
        rules.STACK_TYPE,
        unknown_checking_proxy(copy.deepcopy(outputs)),
        "urn:pulumi:dev::aidbox-secrets::pulumi:pulumi:Stack::aidbox-secrets-dev",
        "aidbox-secrets-dev",
        options,
        None,
        None,
        [],
        {},
    )
    return StackValidationArgs([stack], None)


def stack_violations(outputs: dict[str, Any]) -> list[str]:
    found: list[str] = []
    policy = next(p for p in rules.POLICIES if p.name == "no-credential-stack-output")
    policy.validate(stack_args(outputs), lambda message, urn=None: found.append(message))
    return found


def test_no_credential_looks_like_a_stack_output() -> None:
    good = {
        "getCredentialsCommand": "az aks get-credentials --resource-group rg --name aks",
        "secretStore": "azure",
        "secretProviderClass": "aidbox-secrets",
        "secrets": {"client-secret": "/run/azure-secrets/client-secret"},
        "keyVaultUri": "https://kv.vault.azure.net/",
    }
    assert stack_violations(good) == []
    assert "'kubeconfig'" in stack_violations({**good, "kubeconfig": "apiVersion: v1"})[0]
    leaked = {**good, "config": {"users": [{"user": {"client-key-data": "LS0t"}}]}}
    assert "'config'" in stack_violations(leaked)[0]
    assert stack_violations({**good, "adminPassword": "x"})
    assert stack_violations({**good, "blob": "https://a.blob.core.windows.net/c?sv=1&sig=abc"})
