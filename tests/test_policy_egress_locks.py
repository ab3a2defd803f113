"""The policy pack's production rules for egress (issue 21 #1) and delete locks (#4), both stack
rules: a cluster's outbound type is judged with the NetworkPolicies beside it, and a lock with
the resource its scope names. Each with a passing and a failing case."""

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
from test_policy import MANAGED_CLUSTER, VAULT, key_vault, rules

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
LOCK = "azure-native:authorization:ManagementLockByScope"
SERVER = "azure-native:dbforpostgresql:Server"
STORAGE = "azure-native:storage:StorageAccount"
PROD = {"production": True}


def resource(
    resource_type: str, name: str, props: dict[str, Any], **deps: list[PolicyResource]
) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(
        resource_type,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:prod::aidbox-secrets::{resource_type}::{name}",
        name,
        options,
        None,
        None,
        [d for found in deps.values() for d in found],
        deps,
    )


def violations(policy_name: str, resources: list[PolicyResource], config: dict | None = PROD):
    policy = next(p for p in rules.POLICIES if p.name == policy_name)
    found: list[str] = []
    policy.validate(
        StackValidationArgs(resources, config), lambda message, urn=None: found.append(message)
    )
    return found


def cluster(outbound: str | None, environment: str = "production") -> PolicyResource:
    network = {"networkPlugin": "azure", "networkPolicy": "cilium"}
    if outbound is not None:
        network["outboundType"] = outbound
    return resource(
        MANAGED_CLUSTER,
        "aks-cluster",
        {"resourceName": "aks", "tags": {"environment": environment}, "networkProfile": network},
    )


DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def network_policy(name: str, spec: dict[str, Any]) -> PolicyResource:
    return resource(NETWORK_POLICY, name, {"metadata": {"name": name}, "spec": spec})


def https_to(*cidrs: str) -> dict[str, Any]:
    return {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "aidbox"}},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{"ipBlock": {"cidr": c}} for c in cidrs],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        ],
    }


EGRESS = "aks-egress-filtered-production"


def test_a_production_cluster_behind_a_firewall_passes() -> None:
    open_egress = network_policy("aidbox-egress", https_to("0.0.0.0/0"))
    deny = network_policy("default-deny", DENY_ALL)
    assert violations(EGRESS, [cluster("userDefinedRouting"), deny, open_egress]) == []


def test_load_balancer_outbound_passes_only_with_closed_egress() -> None:
    deny = network_policy("default-deny", DENY_ALL)
    narrow = network_policy("aidbox-egress", https_to("198.51.100.7/32"))
    assert violations(EGRESS, [cluster("loadBalancer"), deny, narrow]) == []


def test_load_balancer_outbound_with_egress_to_anywhere_is_refused_on_production() -> None:
    deny = network_policy("default-deny", DENY_ALL)
    wide = network_policy("aidbox-egress", https_to("0.0.0.0/0"))
    (message,) = violations(EGRESS, [cluster("loadBalancer"), deny, wide])
    assert "azure-native:containerservice:ManagedCluster 'aks-cluster'" in message
    assert "networkProfile.outboundType is 'loadBalancer'" in message
    assert "aidbox-egress" in message and "0.0.0.0/0" in message
    # Unset is the load balancer too; halves of the internet are still the internet.
    halves = network_policy("aidbox-egress", https_to("0.0.0.0/1", "128.0.0.0/1"))
    assert violations(EGRESS, [cluster(None), deny, halves])
    # Not production: no rule.
    assert violations(EGRESS, [cluster("loadBalancer", "dev"), deny, wide], config=None) == []


def test_no_default_deny_means_pods_reach_anywhere() -> None:
    narrow = network_policy("aidbox-egress", https_to("198.51.100.7/32"))
    (message,) = violations(EGRESS, [cluster("loadBalancer"), narrow])
    assert "no NetworkPolicy denies egress by default" in message
    to_all = network_policy("open", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    deny = network_policy("default-deny", DENY_ALL)
    assert violations(EGRESS, [cluster("loadBalancer"), deny, to_all])


LOCKS = "azure-delete-locks-production"


def lock(target: PolicyResource, level: str = "CanNotDelete") -> PolicyResource:
    return resource(
        LOCK,
        f"{target.name}-lock",
        {"level": level, "lockName": "aidbox-secrets-do-not-delete", "scope": "unknown-id"},
        scope=[target],
    )


def state_of_record() -> list[PolicyResource]:
    tags = {"environment": "production"}
    return [
        cluster("userDefinedRouting"),
        resource(VAULT, "store-kv-vault", key_vault()),
        resource(SERVER, "postgres-server", {"serverName": "psql", "tags": tags}),
        resource(STORAGE, "store-snapshots-account", {"accountName": "st", "tags": tags}),
    ]


def test_production_state_of_record_with_its_locks_passes() -> None:
    targets = state_of_record()
    assert violations(LOCKS, [*targets, *(lock(t) for t in targets)]) == []


def test_a_production_resource_without_a_delete_lock_is_refused() -> None:
    targets = state_of_record()
    locks = [lock(targets[0]), lock(targets[2], level="NotSpecified"), lock(targets[3])]
    found = violations(LOCKS, [*targets, *locks])
    assert len(found) == 2, found
    assert "azure-native:keyvault:Vault 'store-kv-vault'" in found[0]
    assert "no CanNotDelete management lock" in found[0]
    assert "azure-native:dbforpostgresql:Server 'postgres-server'" in found[1]
    # Dev: no rule (the vault's own tag says non-production, and no config says otherwise).
    dev = resource(VAULT, "kv", key_vault("non-production"))
    assert violations(LOCKS, [dev], config=None) == []
