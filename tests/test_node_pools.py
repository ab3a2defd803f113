"""Node pools under the cluster autoscaler: the system pool in the cluster resource, the user
pool an AgentPool resource of its own, and neither sends a node count the autoscaler owns once
it exists (AKS refuses a count that differs from the pool's current one: "Cannot manually
scale ... with cluster autoscaler enabled")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cases
import pytest
from harness import ROOT, SUBSCRIPTION, stack_config

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
# The stack files that create their AKS cluster (Pulumi.local.yaml deploys to kind).
STACK_FILES = sorted(
    p.name
    for p in Path(ROOT).glob("Pulumi.*.yaml")
    if (stack_config(p).get("aidbox-secrets:cluster") or {}).get("mode", "aks") == "aks"
)


@pytest.fixture(params=STACK_FILES)
def file(request: pytest.FixtureRequest) -> str:
    return request.param


def resolve(props: dict[str, Any], path: str) -> Any:
    """The input a Pulumi property path (`a.b[0].c`) names; KeyError when it names none, so an
    ignore_changes entry that would silently ignore nothing fails the test."""
    value: Any = props
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        value = value[int(index)] if index else value[key]
    return value


def test_the_cluster_resource_holds_the_system_pool_only(file: str) -> None:
    cluster, c = cases.run(file).one(CLUSTER).props, cases.settings(file).cluster
    (system,) = cluster["agentPoolProfiles"]
    assert (system["name"], system["mode"]) == ("system", "System")
    assert (system["minCount"], system["maxCount"], system["vmSize"]) == (
        c.system_pool.min_count,
        c.system_pool.max_count,
        c.system_pool.vm_size,
    )
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]


def test_the_user_pool_is_an_agent_pool_of_the_cluster(file: str) -> None:
    run, s = cases.run(file), cases.settings(file)
    cluster = run.one(CLUSTER)
    pool = run.one(AGENT_POOL, "aks-user-pool")
    props, want = pool.props, s.cluster.user_pool
    # Its name in Azure is the one the inline pool had: existing stacks import it
    # (docs/operations.md, "Upgrade notes").
    assert props["agentPoolName"] == "user"
    assert props["resourceName"] == cluster.props["resourceName"]
    assert props["resourceGroupName"] == cluster.props["resourceGroupName"]
    assert props["mode"] == "User"
    assert props["enableAutoScaling"] is True
    assert (props["minCount"], props["maxCount"], props["vmSize"]) == (
        want.min_count,
        want.max_count,
        want.vm_size,
    )
    assert props.get("availabilityZones", []) == list(s.cluster.zones)
    assert props["vnetSubnetID"].endswith("/subnets/snet-aks-user")
    assert (props["osType"], props["osSKU"], props["type"]) == (
        "Linux",
        "AzureLinux",
        "VirtualMachineScaleSets",
    )
    assert props["upgradeSettings"] == {"maxSurge": "33%"}
    assert "nodeTaints" not in props  # Aidbox, PostgreSQL and Vault run here
    assert props["tags"] == cluster.props["tags"]  # environment: production, for the policy
    assert pool.parent == run.one("aidbox-secrets:azure:AksCluster", "aks").urn
    assert cluster.urn in pool.dependencies  # created once the cluster is
    assert pool.opts is not None and bool(pool.opts.protect) == s.production


def test_no_pool_sends_a_count_the_autoscaler_owns(file: str) -> None:
    run, c = cases.run(file), cases.settings(file).cluster
    cluster, pool = run.one(CLUSTER), run.one(AGENT_POOL, "aks-user-pool")
    # AKS needs a count to create a pool (within min..max): the autoscaler's floor. From then
    # on the engine sends the count the stack holds, never a new one from the program.
    assert cluster.opts is not None and pool.opts is not None
    assert cluster.opts.ignore_changes == ["agentPoolProfiles[0].count"]
    assert pool.opts.ignore_changes == ["count"]
    assert resolve(cluster.props, "agentPoolProfiles[0].count") == c.system_pool.min_count
    assert resolve(pool.props, "count") == c.user_pool.min_count


def test_resolve_refuses_a_path_that_names_no_input() -> None:
    with pytest.raises(KeyError):
        resolve({"agentPoolProfiles": [{"count": 3}]}, "agent_pool_profiles[0].count")


def test_the_upgrade_notes_import_the_pool_the_program_declares() -> None:
    """The upgrade note's command: type, logical name, parent and Azure id of the AgentPool."""
    run = cases.run("Pulumi.dev.yaml")
    pool, cluster = run.one(AGENT_POOL), run.one("aidbox-secrets:azure:AksCluster")
    notes = (Path(ROOT) / "docs" / "operations.md").read_text()
    command = re.search(
        r'pulumi import (\S+) (\S+) \\\n\s+"([^"]+)" \\\n\s+--parent "([^"]+)"', notes
    )
    assert command, "docs/operations.md: the pulumi import command of the upgrade notes"
    type_, name, resource_id, parent = command.groups()
    assert (type_, name) == (AGENT_POOL, pool.name)
    filled = (
        resource_id.replace("$SUBSCRIPTION", SUBSCRIPTION)
        .replace("$(pulumi stack output resourceGroupName)", pool.props["resourceGroupName"])
        .replace("$(pulumi stack output clusterName)", pool.props["resourceName"])
    )
    assert filled == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{pool.props['resourceGroupName']}"
        f"/providers/Microsoft.ContainerService/managedClusters/{pool.props['resourceName']}"
        f"/agentPools/{pool.props['agentPoolName']}"
    )
    # The engine leaves the root stack's type out of its children's URNs (the mocks do not).
    urn = cluster.urn.replace("pulumi:pulumi:Stack$", "")
    assert parent.replace("$STACK", "dev") == f"{cluster.name}={urn}"
