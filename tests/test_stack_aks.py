"""The AKS baseline, for every committed stack file: Entra ID only, a Kubernetes provider with
no static credential, no secret in the outputs, a network policy engine and NetworkPolicies,
a Key Vault that denies by default with the cluster's path in, and pools, zones, autoscaler,
tier and upgrade channels as configured."""

from __future__ import annotations

from pathlib import Path

import cases
import pytest
import yaml
from harness import (
    API_SERVER,
    DEPLOYER,
    ROOT,
    UAMI_CLIENT,
    VAULT_HA,
    VAULT_HA_PRODUCTION,
    VAULT_HA_PRODUCTION_SECRETS,
    StackRun,
    run_stack,
    stack_config,
)

from components.azure.kubeconfig import AKS_SERVER_APP_ID

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"  # the user pool (tests/test_node_pools.py)
PROVIDER = "pulumi:providers:kubernetes"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "azure-native:authorization:RoleAssignment"
# The stack files that create their AKS cluster (Pulumi.local.yaml deploys to kind).
STACK_FILES = sorted(
    p.name
    for p in Path(ROOT).glob("Pulumi.*.yaml")
    if (stack_config(p).get("aidbox-secrets:cluster") or {}).get("mode", "aks") == "aks"
)


def stack_name(file: str) -> str:
    return file.removeprefix("Pulumi.").removesuffix(".yaml")


def _run(file: str) -> tuple[StackRun, list[tuple[str, dict]]]:
    run = cases.run(file)  # each stack file runs once per session, shared with other tests
    return run, run.calls


def _settings(file: str):
    return cases.settings(file)


@pytest.fixture(params=STACK_FILES)
def file(request: pytest.FixtureRequest) -> str:
    return request.param


def test_entra_id_with_azure_rbac_and_no_local_accounts(file: str) -> None:
    cluster = _run(file)[0].one(CLUSTER).props
    assert cluster["aadProfile"]["managed"] is True
    assert cluster["aadProfile"]["enableAzureRBAC"] is True
    assert cluster["enableRBAC"] is True
    # Off on every committed stack; production refuses to turn it on (test_settings_cluster).
    assert cluster["disableLocalAccounts"] is True


def test_kubernetes_provider_holds_no_static_credential(file: str) -> None:
    run, calls = _run(file)
    assert not [t for t, _ in calls if t.endswith("listManagedClusterAdminCredentials")]
    (call,) = [a for t, a in calls if t.endswith(":listManagedClusterUserCredentials")]
    assert call["format"] == "exec"
    provider = run.one(PROVIDER, "aks-k8s")
    kubeconfig = yaml.safe_load(provider.props["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == API_SERVER
    (user,) = kubeconfig["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate or key
    exec_ = user["user"]["exec"]
    login = _settings(file).cluster.kubelogin_mode
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", login, "--server-id", AKS_SERVER_APP_ID]
    for secretish in ("token", "client-certificate-data", "client-key-data", "password"):
        assert secretish not in provider.props["kubeconfig"].replace("get-token", "")


def test_no_secret_and_no_kubeconfig_in_the_outputs(file: str) -> None:
    run = _run(file)[0]
    assert "kubeconfig" not in run.outputs
    assert not [key for key, value in run.outputs.items() if value.secret]
    assert run.output("getCredentialsCommand").startswith("az aks get-credentials ")


def test_cluster_admins_are_the_ones_the_stack_file_names(file: str) -> None:
    """Cluster admin on the cluster for the principals the stack names, of the type it states
    (prod: its administrators' group); never CI's identity, which the bootstrap grants."""
    run = _run(file)[0]
    admins = [r for r in run.of_type(ROLE) if r.name.startswith("aks-admin-")]
    expected = {p.object_id: p.type for p in _settings(file).cluster.admins}
    assert {r.props["principalId"]: r.props["principalType"] for r in admins} == expected
    assert bool(expected) == (stack_name(file) == "prod")
    cluster = run.one(CLUSTER)
    for grant in admins:
        assert grant.props["scope"].endswith(
            f"/resourceGroups/rg-aidbox-secrets-{stack_name(file)}/providers/"
            f"Microsoft.ContainerService/managedClusters/{cluster.props['resourceName']}"
        )
        assert cluster.urn in grant.dependencies
        assert DEPLOYER not in repr(grant.props)


def waits_for(run: StackRun, urn: str) -> set[str]:
    """Everything `urn` waits for, transitively: its dependencies, its provider, and each
    component's children."""
    by_urn = {r.urn: r for r in run.resources}
    found: set[str] = set()
    todo = [urn]
    while todo:
        r = by_urn.get(todo.pop())
        if r is None:
            continue
        nexts = set(r.dependencies) | ({r.provider.rsplit("::", 1)[0]} if r.provider else set())
        nexts |= {c.urn for c in run.resources if c.parent == r.urn and not r.custom}
        for n in nexts - found:
            found.add(n)
            todo.append(n)
    return found


def test_azure_resources_do_not_wait_for_the_cluster(file: str) -> None:
    run = _run(file)[0]
    cluster_urn = run.one(CLUSTER).urn
    independent = (
        "azure-native:network:VirtualNetwork",
        "azure-native:operationalinsights:Workspace",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Secret",
        "azure-native:network:PrivateEndpoint",
        "azure-native:privatedns:PrivateZone",
    )
    checked = [r for r in run.resources if r.type in independent]
    assert checked, "nothing to check"
    for resource in checked:
        assert cluster_urn not in waits_for(run, resource.urn), resource.name
    # ...while what must follow the cluster does.
    assert cluster_urn in waits_for(run, run.one(PROVIDER, "aks-k8s").urn)


def test_network_policy_engine_and_namespace_policies(file: str) -> None:
    run, s = _run(file)[0], _settings(file)
    network = run.one(CLUSTER).props["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"]) == ("azure", "overlay")
    assert network["networkPolicy"] == s.cluster.network_policy == "cilium"
    assert network["networkDataplane"] == "cilium"
    # Aidbox's namespace (the Vault namespace's own: tests/test_vault_network_policies.py).
    policies = {
        r.props["metadata"]["name"]: r.props
        for r in run.of_type(NETWORK_POLICY)
        if r.props["metadata"]["namespace"] == s.namespace
    }
    in_cluster_db = s.postgres.flexible is None
    expected = {
        "default-deny",
        "allow-dns",
        "aidbox-ingress",
        "aidbox-egress",
        "database-role-egress",
    }
    assert set(policies) == expected | ({"database-ingress"} if in_cluster_db else set())
    assert policies["default-deny"]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }


def test_nodes_land_in_the_virtual_network(file: str) -> None:
    run = _run(file)[0]
    pools = [*run.one(CLUSTER).props["agentPoolProfiles"], run.one(AGENT_POOL).props]
    vnet = run.one("azure-native:network:VirtualNetwork")
    subnets = {s["name"]: s for s in vnet.props["subnets"]}
    assert [p["vnetSubnetID"].rsplit("/", 1)[-1] for p in pools] == [
        "snet-aks-system",
        "snet-aks-user",
    ]
    delegation = subnets["snet-postgres"]["delegations"][0]["serviceName"]
    assert delegation == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert run.output("postgresSubnetId").endswith("/subnets/snet-postgres")
    assert run.output("postgresSubnetId").startswith(run.output("vnetId"))


def test_key_vault_denies_by_default_and_the_cluster_comes_in_privately(file: str) -> None:
    run, s = _run(file)[0], _settings(file)
    if s.azure is None:
        assert not run.of_type("azure-native:keyvault:Vault")
        return
    vault = run.one("azure-native:keyvault:Vault")
    acls = vault.props["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert acls["bypass"] == "AzureServices"
    assert [r["value"] for r in acls["ipRules"]] == list(s.azure.key_vault.allowed_ranges)
    endpoint = run.named("store-kv-endpoint").props
    assert endpoint["subnet"]["id"].endswith("/subnets/snet-private-endpoints")
    assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["vault"]
    zone = run.named("store-kv-dns").props
    assert zone["privateZoneName"] == "privatelink.vaultcore.azure.net"
    link = run.named("store-kv-dns-link").props
    assert link["virtualNetwork"]["id"] == run.output("vnetId")
    audit = run.named("store-kv-audit").props
    assert audit["logs"] == [{"category": "AuditEvent", "enabled": True}]
    assert audit["workspaceId"] == run.output("logAnalyticsWorkspaceId")


def test_pools_zones_autoscaler_tier_and_channels_as_configured(file: str) -> None:
    run, c = _run(file)[0], _settings(file).cluster
    cluster = run.one(CLUSTER).props
    assert cluster["sku"] == {"name": "Base", "tier": c.tier}
    (system,), user = cluster["agentPoolProfiles"], run.one(AGENT_POOL).props
    for pool, want, mode in ((system, c.system_pool, "System"), (user, c.user_pool, "User")):
        assert pool["mode"] == mode
        assert pool["enableAutoScaling"] is True
        assert (pool["minCount"], pool["maxCount"], pool["vmSize"]) == (
            want.min_count,
            want.max_count,
            want.vm_size,
        )
        assert pool.get("availabilityZones", []) == list(c.zones)
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert "nodeTaints" not in user
    assert cluster["autoUpgradeProfile"] == {
        "upgradeChannel": c.upgrade_channel,
        "nodeOSUpgradeChannel": c.node_os_upgrade_channel,
    }
    assert cluster["kubernetesVersion"] == c.kubernetes_version
    ranges = cluster["apiServerAccessProfile"].get("authorizedIPRanges", [])
    # With a firewall of the program's, its address follows (tests/test_egress.py).
    created_firewall = _settings(file).network.egress.mode == "firewall"
    assert ranges[: len(ranges) - created_firewall] == list(c.api_server_authorized_ranges)


def test_maintenance_window_applies_to_both_upgrade_channels(file: str) -> None:
    run, w = _run(file)[0], _settings(file).cluster.maintenance_window
    configs = {
        r.props["configName"]: r.props["maintenanceWindow"]
        for r in run.of_type("azure-native:containerservice:MaintenanceConfiguration")
    }
    assert set(configs) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for window in configs.values():
        assert window["schedule"]["weekly"]["dayOfWeek"] == w.day
        assert (window["startTime"], window["durationHours"], window["utcOffset"]) == (
            w.start,
            w.duration_hours,
            w.utc_offset,
        )


def test_production_stack_meets_the_baseline() -> None:
    run = _run("Pulumi.prod.yaml")[0]
    cluster = run.one(CLUSTER).props
    assert cluster["sku"]["tier"] == "Standard"
    pools = [*cluster["agentPoolProfiles"], run.one(AGENT_POOL).props]
    assert all(p["availabilityZones"] == ["1", "2", "3"] for p in pools)
    assert cluster["agentPoolProfiles"][0]["minCount"] >= 2
    assert cluster["azureMonitorProfile"] == {"metrics": {"enabled": True}}
    assert cluster["addonProfiles"]["omsagent"]["enabled"] is True
    assert "0.0.0.0/0" not in cluster["apiServerAccessProfile"]["authorizedIPRanges"]
    logs = run.named("aks-control-plane-logs").props["logs"]
    assert {"category": "kube-audit-admin", "enabled": True} in logs
    associations = {
        r.props["associationName"]
        for r in run.of_type("azure-native:monitor:DataCollectionRuleAssociation")
    }
    assert associations == {
        "ContainerInsightsMetricsExtension",
        "configurationAccessEndpoint",
        "ContainerInsightsExtension",
    }
    settings = run.k8s("core/v1:ConfigMap", "ama-metrics-settings-configmap").props
    assert settings["metadata"]["namespace"] == "kube-system"
    # The driver's and provider's pods (kube-system) and Aidbox's (its namespace).
    assert settings["data"]["pod-annotation-based-scraping"] == (
        'podannotationnamespaceregex = "default|kube-system"'
    )


def test_dev_stacks_are_cheap_and_say_so() -> None:
    for file in ("Pulumi.dev.yaml", "Pulumi.dev-vault.yaml"):
        text = (Path(ROOT) / file).read_text()
        assert "cheap" in text
        cluster = _run(file)[0].one(CLUSTER).props
        assert cluster["sku"]["tier"] == "Free"
        assert "azureMonitorProfile" not in cluster
        assert "omsagent" not in (cluster.get("addonProfiles") or {})


def test_aks_addon_with_workload_identity_uses_the_federated_identity() -> None:
    case = cases.CASES["azure-aksAddon-keyvault-certificate"]  # a shared run with both
    assert case.config["aidbox-secrets:azure"] == {"identity": "workload"}
    assert case.config["aidbox-secrets:csi"]["install"] == "aksAddon"
    run = cases.run(case.id)
    cluster = run.one(CLUSTER).props
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert "azureKeyvaultSecretsProvider" in cluster["addonProfiles"]
    assert not run.of_type("kubernetes:helm.sh/v3:Release")
    spc = run.spc().props
    assert spc["spec"]["parameters"]["clientID"] == UAMI_CLIENT
    assert "useVMManagedIdentity" not in spc["spec"]["parameters"]
    grants = [r.name for r in run.of_type(ROLE)]
    assert "store-kv-workload-aidbox-auth-keys" in grants
    assert not [g for g in grants if g.startswith("store-kv-aks-addon")]
    # Aidbox's and the database's.
    assert len(run.of_type("azure-native:managedidentity:FederatedIdentityCredential")) == 2


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_network_policies_select_the_pods_the_program_runs(file: str) -> None:
    """A selector that matches nothing would leave a pod denied (or a rule dead) silently."""
    run = _run(file)[0]
    policies = {r.props["metadata"]["name"]: r.props["spec"] for r in run.of_type(NETWORK_POLICY)}
    aidbox = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]
    if _settings(file).postgres.flexible is not None:
        # The managed server lives in its delegated subnet: Aidbox may reach that and no pod.
        to_db = policies["aidbox-egress"]["egress"][0]
        subnet = _settings(file).network.postgres_subnet
        assert to_db == {"to": [{"ipBlock": {"cidr": subnet}}], "ports": [to_db["ports"][0]]}
        assert to_db["ports"][0]["port"] == 5432 and "database-ingress" not in policies
        return
    database = run.one("kubernetes:apps/v1:StatefulSet").props["spec"]["template"]
    assert _matches(policies["aidbox-ingress"]["podSelector"], aidbox["metadata"]["labels"])
    assert _matches(policies["aidbox-egress"]["podSelector"], aidbox["metadata"]["labels"])
    assert _matches(policies["database-ingress"]["podSelector"], database["metadata"]["labels"])
    assert not _matches(policies["database-ingress"]["podSelector"], aidbox["metadata"]["labels"])
    to_db = policies["aidbox-egress"]["egress"][0]
    assert _matches(to_db["to"][0]["podSelector"], database["metadata"]["labels"])
    aidbox_ports = {p["name"] for c in aidbox["spec"]["containers"] for p in c.get("ports", [])}
    for rule in policies["aidbox-ingress"]["ingress"]:
        assert {p["port"] for p in rule["ports"]} <= aidbox_ports
    db_ports = {p["containerPort"] for c in database["spec"]["containers"] for p in c["ports"]}
    assert to_db["ports"][0]["port"] in db_ports


def test_an_ha_vaults_unseal_key_vault_is_behind_the_same_firewall() -> None:
    ranges = VAULT_HA_PRODUCTION["cluster"]["apiServerAuthorizedRanges"]
    run = run_stack(VAULT_HA_PRODUCTION, secret_keys=VAULT_HA_PRODUCTION_SECRETS, stack="prod")
    acls = run.named("store-unseal-vault").props["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert [r["value"] for r in acls["ipRules"]] == ranges  # the administrators', for the init
    endpoint = run.named("store-unseal-endpoint").props
    assert endpoint["subnet"]["id"].endswith("/subnets/snet-private-endpoints")
    # dev, no ranges: left open, so the one-time init works from anywhere; still reachable
    # privately from the pods.
    dev = run_stack(VAULT_HA)
    assert "networkAcls" not in dev.named("store-unseal-vault").props["properties"]
    assert dev.named("store-unseal-endpoint")
