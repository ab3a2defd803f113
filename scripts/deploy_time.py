"""Model the first `pulumi up`: how long each stack file takes if every resource starts as
soon as what it waits for is done, and which chain decides it.

It runs the program under the test suite's mocks (tests/harness.py), which record, for each
registration, the resources it waits for: `depends_on`, every resource whose outputs feed one
of its inputs, and its provider. Waiting on a component means waiting on all its children.
Durations are typical first-create times per resource type: assumptions, not measurements
(Azure varies by region, load and SKU). Usage: python scripts/deploy_time.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import Registered, StackRun, run_stack, stack_config, with_imports  # noqa: E402

# Seconds. Assumptions from typical Azure and Kubernetes create times.
DURATIONS = {
    "azure-native:resources:ResourceGroup": 10,
    "azure-native:containerservice:ManagedCluster": 480,  # ~8 min, pools built in parallel
    "azure-native:containerservice:AgentPool": 240,
    "azure-native:containerservice:MaintenanceConfiguration": 10,
    "azure-native:keyvault:Vault": 60,
    "azure-native:keyvault:Secret": 10,
    "azure-native:authorization:RoleAssignment": 30,
    "azure-native:managedidentity:UserAssignedIdentity": 15,
    "azure-native:managedidentity:FederatedIdentityCredential": 15,
    "azure-native:network:VirtualNetwork": 20,
    "azure-native:network:NetworkSecurityGroup": 10,
    "azure-native:network:RouteTable": 10,
    "azure-native:network:PublicIPAddress": 15,
    "azure-native:network:FirewallPolicy": 30,
    "azure-native:network:FirewallPolicyRuleCollectionGroup": 60,
    "azure-native:network:AzureFirewall": 420,  # ~7 min, zone-redundant Standard
    "azure-native:authorization:ManagementLockByScope": 5,
    "azure-native:network:PrivateEndpoint": 90,
    "azure-native:network:PrivateDnsZoneGroup": 30,
    "azure-native:privatedns:PrivateZone": 45,
    "azure-native:privatedns:VirtualNetworkLink": 45,
    "azure-native:operationalinsights:Workspace": 30,
    "azure-native:monitor:AzureMonitorWorkspace": 30,
    "azure-native:monitor:DataCollectionEndpoint": 10,
    "azure-native:monitor:DataCollectionRule": 10,
    "azure-native:monitor:DataCollectionRuleAssociation": 10,
    "azure-native:monitor:DiagnosticSetting": 15,
    "kubernetes:helm.sh/v3:Release": 90,  # images pulled, pods ready
    "kubernetes:apps/v1:Deployment": 120,  # Aidbox starts and passes its probes
    "kubernetes:apps/v1:StatefulSet": 60,
    "kubernetes:batch/v1:Job": 30,  # Aidbox's database role: a psql pod pulls, runs, ends
    # Azure Database for PostgreSQL flexible server with a zone-redundant standby.
    "azure-native:dbforpostgresql:Server": 600,
    "azure-native:dbforpostgresql:Database": 30,
    "azure-native:dbforpostgresql:Configuration": 30,
    # A Premium registry (registry.mode acr) and an Azure Policy assignment at the cluster: off
    # the critical path (the registry needs only the group, an assignment only the cluster).
    "azure-native:containerregistry:Registry": 60,
    "azure-native:authorization:PolicyAssignment": 30,
    # An ha Vault's snapshot storage: off the critical path (it needs the group and network).
    "azure-native:storage:StorageAccount": 30,
    "azure-native:storage:BlobContainer": 5,
    "azure-native:storage:BlobServiceProperties": 5,
    "azure-native:storage:ManagementPolicy": 5,
}
# A managed server's own chain: its private DNS zone (beside the network) and link, the server,
# then its one configuration change (the extension allow-list; TLS is required by default).
MANAGED_DATABASE = (
    "azure-native:dbforpostgresql:Server",
    "azure-native:dbforpostgresql:Configuration",
)
# A created firewall's own chain before the cluster may start: its policy and rules (created
# first, as the AKS baseline does, or the firewall and its policy conflict), then the firewall.
# With userDefinedRouting the nodes reach nothing until it routes: the cluster waits for it.
FIREWALL = (
    "azure-native:network:FirewallPolicy",
    "azure-native:network:FirewallPolicyRuleCollectionGroup",
    "azure-native:network:AzureFirewall",
)
LOAD_BALANCER = 60  # a Service of type LoadBalancer gets its address
OTHER_KUBERNETES = 2
OTHER = 1  # vault:* and anything else
FREE = ("pulumi:providers:", "random:", "aidbox-secrets:")  # no cloud call, or components
CLUSTER = "azure-native:containerservice:ManagedCluster"
DRIVER = "kubernetes:helm.sh/v3:Release"
# The user pool, its own resource after the cluster (a pool inside the cluster resource would
# have its node count re-sent by every cluster update). Pods of Deployments, StatefulSets and
# Jobs (the database role's) run there (the system pool is tainted): they are ready, or done,
# no earlier than its nodes.
USER_NODES = "azure-native:containerservice:AgentPool"
WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:batch/v1:Job",
)


def duration(resource: Registered) -> int:
    if resource.type.startswith(FREE):
        return 0
    if resource.type in DURATIONS:
        return DURATIONS[resource.type]
    if resource.type == "kubernetes:core/v1:Service":
        spec = resource.props.get("spec") or {}
        return LOAD_BALANCER if spec.get("type") == "LoadBalancer" else OTHER_KUBERNETES
    if resource.type.startswith("kubernetes:"):
        return OTHER_KUBERNETES
    return OTHER


def unavoidable_seconds(
    in_cluster_database: bool = False, managed_database: bool = False, firewall: bool = False
) -> int:
    """The chain the program cannot shorten: the resource group; the cluster's subnets' network
    (beside it, when the program creates a firewall, the firewall's policy and rules, then the
    firewall, which the cluster waits for); the cluster; then, in parallel, the CSI driver and
    the user pool's nodes; then the Job that creates Aidbox's database role; then Aidbox. The
    in-cluster database reads its password from the store through the CSI driver and runs on
    the user pool, so it joins the chain; a managed database is created beside the cluster (its
    DNS zone beside the network, the zone's link, the server, its one parameter change), and
    the role Job waits for whichever is ready last."""
    group = DURATIONS["azure-native:resources:ResourceGroup"]
    network = DURATIONS["azure-native:network:VirtualNetwork"]
    before_cluster = network
    if firewall:
        policy, rules, azure_firewall = (DURATIONS[t] for t in FIREWALL)
        before_cluster = max(network, policy + rules) + azure_firewall
    cluster = (
        group + before_cluster + DURATIONS[CLUSTER] + max(DURATIONS[DRIVER], DURATIONS[USER_NODES])
    )
    if in_cluster_database:
        cluster += DURATIONS["kubernetes:apps/v1:StatefulSet"]
    database = 0
    if managed_database:
        zone = max(network, DURATIONS["azure-native:privatedns:PrivateZone"])
        link = DURATIONS["azure-native:privatedns:VirtualNetworkLink"]
        database = group + zone + link + sum(DURATIONS[t] for t in MANAGED_DATABASE)
    # Aidbox's database role is created in the cluster once both are there, then Aidbox starts.
    role = DURATIONS["kubernetes:batch/v1:Job"]
    return max(cluster, database) + role + DURATIONS["kubernetes:apps/v1:Deployment"]


@dataclass(frozen=True)
class Model:
    total: int
    path: list[tuple[str, int, int]]  # (resource, start, end) along the critical path
    ends: dict[str, int] = field(default_factory=dict)  # logical name -> when it is done


def model(run: StackRun) -> Model:
    by_urn = {r.urn: r for r in run.resources}
    children: dict[str, list[str]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r.urn)

    def expand(urn: str) -> Iterable[str]:
        """A component stands for everything under it."""
        resource = by_urn.get(urn)
        if resource is None:
            return
        if resource.custom:
            yield urn
        for child in children.get(urn, []):
            yield from expand(child)

    user_nodes = {r.urn for r in run.resources if r.type == USER_NODES}

    def waits_for(r: Registered) -> set[str]:
        urns = set(r.dependencies)
        if r.type in WORKLOADS:
            urns |= user_nodes
        if r.provider:
            urns.add(r.provider.rsplit("::", 1)[0])  # "urn::id"
        return {u for dep in urns for u in expand(dep) if u != r.urn}

    end: dict[str, int] = {}
    before: dict[str, str | None] = {}

    def finish(urn: str, seen: tuple[str, ...] = ()) -> int:
        if urn in end:
            return end[urn]
        if urn in seen:
            raise ValueError(f"dependency cycle through {urn}")
        r = by_urn[urn]
        start, last = 0, None
        for dep in waits_for(r):
            if (t := finish(dep, (*seen, urn))) > start:
                start, last = t, dep
        end[urn], before[urn] = start + duration(r), last
        return end[urn]

    customs = [r.urn for r in run.resources if r.custom]
    total = max((finish(u) for u in customs), default=0)
    tail = max(customs, key=lambda u: end[u]) if customs else None
    path = []
    while tail is not None:
        r = by_urn[tail]
        path.append((f"{r.type} {r.name}", end[tail] - duration(r), end[tail]))
        tail = before[tail]
    ends = {by_urn[u].name: end[u] for u in customs}
    return Model(total, list(reversed(path)), ends)


def stack_files() -> list[Path]:
    return sorted(ROOT.glob("Pulumi.*.yaml"))


def run_file(path: Path) -> StackRun:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = stack_config(path)
    secret = []
    if stack == "prod":
        config["aidbox-secrets:aidboxLicense"] = "model-license"
        secret = ["aidbox-secrets:aidboxLicense"]
    cluster = config.get("aidbox-secrets:cluster") or {}
    if cluster.get("mode") == "kubeconfig":  # the user's ~/.kube/config: the tests' one here
        kubeconfig = str(ROOT / "tests" / "data" / "kubeconfig.yaml")
        config["aidbox-secrets:cluster"] = {**cluster, "kubeconfigPath": kubeconfig}
    return run_stack(with_imports(config, stack), secret_keys=secret, stack=stack)


def minutes(seconds: int) -> str:
    return f"{seconds // 60}m{seconds % 60:02d}s"


def main() -> None:
    chain = "resource group, network, cluster, driver and user nodes, database role Job, Aidbox"
    print(f"unavoidable chain ({chain}): {minutes(unavoidable_seconds())}")
    print(f"  with a created firewall first: {minutes(unavoidable_seconds(firewall=True))}")
    for path in stack_files():
        result = model(run_file(path))
        print(f"\n{path.name}: modeled first up {minutes(result.total)}; critical path:")
        for name, start, stop in result.path:
            if stop > start:
                print(f"  {minutes(start):>7} -> {minutes(stop):>7}  {name}")


if __name__ == "__main__":
    main()
