"""The modeled first `pulumi up` (scripts/deploy_time.py) of the production stack is within 2%
of the unavoidable chain (resource group, the cluster's network, cluster, then CSI driver and
user nodes, or the managed database's own chain, then the database role Job, then Aidbox):
everything else, the registry, its endpoint and pull grant, the policy assignments, an ha
Vault's snapshot storage and CronJob, runs beside it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cases
from harness import ROOT, VAULT_HA_INIT, run_stack

MARGIN = 0.02  # of the unavoidable chain (the workspace the cluster names, the Service)


def _load():
    spec = importlib.util.spec_from_file_location(
        "deploy_time", Path(ROOT) / "scripts" / "deploy_time.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


deploy_time = _load()


def test_prod_first_up_is_the_unavoidable_chain() -> None:
    result = deploy_time.model(cases.run("Pulumi.prod.yaml"))
    names = [name for name, _, _ in result.path]
    # Aidbox waits for the cluster and its driver, or for the managed database built beside it,
    # whichever is ready last.
    through_cluster = any(n.startswith("azure-native:containerservice:") for n in names) and any(
        n.startswith(("kubernetes:helm.sh/v3:Release", "azure-native:containerservice:AgentPool"))
        for n in names
    )
    through_database = any(n.startswith("azure-native:dbforpostgresql:Server") for n in names)
    assert through_cluster or through_database, names
    # The path ends in Aidbox: its Deployment, then its Service (and the Ingress on a host).
    assert any(n.startswith("kubernetes:apps/v1:Deployment aidbox") for n in names[-3:]), names
    s = cases.settings("Pulumi.prod.yaml")
    mode = s.postgres.mode
    unavoidable = deploy_time.unavoidable_seconds(
        in_cluster_database=mode == "inCluster",
        managed_database=mode == "azureFlexible",
        firewall=s.network.egress.mode == "firewall",
    )
    assert result.total <= unavoidable * (1 + MARGIN), (result.total, unavoidable, result.path)
    # Nor sooner: the database role Job's pod, like Aidbox's, runs on the user pool.
    assert result.total >= unavoidable, (result.total, unavoidable, result.path)
    pool = names.index("azure-native:containerservice:AgentPool aks-user-pool")
    assert names[pool + 1] == "kubernetes:batch/v1:Job aidbox-db-role-job", names


def test_a_created_firewall_comes_before_the_cluster_and_locks_wait_for_nothing() -> None:
    """With userDefinedRouting the nodes reach their registries only through the firewall, so
    the cluster waits for it (and its rules); the delete locks follow what they lock and nothing
    waits for them."""
    run = cases.run("Pulumi.prod.yaml")
    result = deploy_time.model(run)
    names = [name for name, _, _ in result.path]
    firewall = next(
        i for i, n in enumerate(names) if n.startswith("azure-native:network:AzureFirewall ")
    )
    cluster = next(i for i, n in enumerate(names) if n.startswith(deploy_time.CLUSTER))
    assert firewall < cluster, names
    assert not [n for n in names if "ManagementLock" in n]
    locks = [r for r in run.resources if "ManagementLock" in r.type]
    assert locks and not [r for r in run.resources if set(r.dependencies) & {x.urn for x in locks}]
    assert result.total >= deploy_time.unavoidable_seconds(managed_database=True, firewall=True)


def test_the_model_follows_output_dependencies() -> None:
    run = cases.run("Pulumi.dev.yaml")
    cluster = next(r for r in run.resources if r.type.endswith(":ManagedCluster"))
    # The cluster waits for its subnets through an Output (the subnet ids), not depends_on.
    vnet = next(r for r in run.resources if r.type.endswith(":VirtualNetwork"))
    assert vnet.urn in cluster.dependencies
    result = deploy_time.model(run)
    assert result.total >= deploy_time.unavoidable_seconds()


def test_workloads_wait_for_the_user_nodes() -> None:
    """Aidbox and the in-cluster database run on the user pool (the system pool is tainted),
    which is created after the cluster: their pods are ready no earlier than its nodes."""
    result = deploy_time.model(cases.run("Pulumi.dev.yaml"))
    names = [name for name, _, _ in result.path]
    pool = names.index("azure-native:containerservice:AgentPool aks-user-pool")
    assert names[pool - 1].startswith("azure-native:containerservice:ManagedCluster")
    assert names[-2].startswith("kubernetes:apps/v1:Deployment aidbox")
    assert result.total >= deploy_time.unavoidable_seconds(in_cluster_database=True)


def test_the_managed_database_is_ready_after_one_parameter_change() -> None:
    """Flexible server applies one server-parameter change at a time: each one the program sets
    is a step of the database's chain before Aidbox. Only the extension allow-list is set
    (require_secure_transport is already on by default)."""
    result = deploy_time.model(cases.run("Pulumi.prod.yaml"))
    server = result.ends["postgres-server-server"]
    ready = max(end for name, end in result.ends.items() if name.startswith("postgres-server-"))
    assert ready - server == deploy_time.DURATIONS["azure-native:dbforpostgresql:Configuration"]


def test_an_ha_vaults_snapshot_job_and_storage_stay_off_the_critical_path() -> None:
    """The snapshot storage needs only the resource group and network, the CronJob only the
    Vault namespace: a first `up` of an ha Vault is not longer for them."""
    run = run_stack(VAULT_HA_INIT, secret_keys=["vault"])
    names = [name for name, _, _ in deploy_time.model(run).path]
    assert not [n for n in names if ":storage:" in n or "CronJob" in n or "snapshots" in n], names
