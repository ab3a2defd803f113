"""cluster.mode existingAks and kubeconfig: nothing of the cluster is created, the identities
the store grants and federates are the existing cluster's, and kubeconfig mode touches no
Azure (and refuses what needs it)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from harness import (
    ADDON_OBJECT,
    AZURE_DEV,
    EXISTING_ADDON,
    EXISTING_ADDON_OBJECT,
    EXISTING_CLUSTER,
    EXISTING_KUBELET_OBJECT,
    EXISTING_OIDC_ISSUER,
    KUBELET_OBJECT,
    OIDC_ISSUER,
    ROOT,
    SA_TOKEN,
    VAULT_DEV,
    VAULT_EXTERNAL,
    Mocks,
    StackRun,
    run_stack,
)

from components.azure.existing_aks import ClusterFacts, ClusterNeeds, missing
from components.settings import Settings, SettingsError, parse_settings

KUBECONFIG = ROOT / "tests" / "data" / "kubeconfig.yaml"
SUBNETS = (
    "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-net/providers/"
    "Microsoft.Network/virtualNetworks/vnet-platform/subnets/"
)
PE_SUBNET = SUBNETS + "endpoints"
VNET = SUBNETS.removesuffix("/subnets/")
# The database's delegated subnet may be in another (peered) network.
PG_VNET = VNET.replace("vnet-platform", "vnet-data")
PG_SUBNET = PG_VNET + "/subnets/postgres"
EXISTING = {"mode": "existingAks", "name": "aks-platform", "resourceGroup": "rg-platform"}
# The Key Vault's private endpoint and a managed database in subnets of the cluster's networks.
EXISTING_AZURE = {
    **AZURE_DEV,
    "cluster": EXISTING,
    "postgres": {"mode": "azureFlexible"},
    "network": {
        "privateEndpointSubnetId": PE_SUBNET,
        "postgresSubnetId": PG_SUBNET,
        "postgresSubnet": "10.50.9.0/24",
    },
}
LOCAL = {"mode": "kubeconfig", "kubeconfigPath": str(KUBECONFIG), "context": "kind-aidbox"}
KUBECONFIG_VAULT_DEV = {**VAULT_DEV, "cluster": LOCAL}
KUBECONFIG_VAULT_EXTERNAL = {**VAULT_EXTERNAL, "cluster": LOCAL}

# What creating a cluster (or its network and monitoring) registers: none of it may appear.
CLUSTER_TYPES = {
    "azure-native:containerservice:ManagedCluster",
    "azure-native:containerservice:AgentPool",
    "azure-native:containerservice:MaintenanceConfiguration",
    "azure-native:network:VirtualNetwork",
    "azure-native:insights:DataCollectionRuleAssociation",
    "azure-native:monitor:DataCollectionRule",
    "azure-native:monitor:AzureMonitorWorkspace",
    "aidbox-secrets:azure:AksCluster",
    "aidbox-secrets:azure:Network",
}
ROLE = "azure-native:authorization:RoleAssignment"


def roles(run: StackRun) -> dict[str, str]:
    """Role assignment name -> principal."""
    return {r.name: r.props["principalId"] for r in run.of_type(ROLE)}


def calls(run: StackRun, token: str) -> list[dict]:
    return [args for name, args in run.calls if name == token]


# --- existingAks ------------------------------------------------------------------------------


def test_existing_aks_creates_nothing_of_the_cluster_and_reads_it_from_azure() -> None:
    run = run_stack(EXISTING_AZURE)
    assert not run.types() & CLUSTER_TYPES
    (read,) = calls(run, "azure-native:containerservice:getManagedCluster")
    assert (read["resourceGroupName"], read["resourceName"]) == ("rg-platform", "aks-platform")
    (creds,) = calls(run, "azure-native:containerservice:listManagedClusterUserCredentials")
    assert (creds["resourceGroupName"], creds["resourceName"]) == ("rg-platform", "aks-platform")
    # Nobody is granted anything on a cluster the program does not own.
    assert not [name for name in roles(run) if "-admin-" in name]
    assert run.output("clusterMode") == "existingAks"
    assert run.output("clusterName") == "aks-platform"
    assert "--resource-group rg-platform --name aks-platform" in run.output("getCredentialsCommand")
    assert "vnetId" not in run.outputs


def test_existing_aks_kubelet_identity_reads_the_vault() -> None:
    granted = roles(run_stack(EXISTING_AZURE))
    assert EXISTING_KUBELET_OBJECT in granted.values()
    assert KUBELET_OBJECT not in granted.values()  # the created cluster's (mock) identity


def test_existing_aks_workload_identity_federates_with_its_oidc_issuer() -> None:
    run = run_stack({**EXISTING_AZURE, "azure": {"identity": "workload"}})
    # Aidbox's and the database's identities, both federated with the cluster's issuer.
    federations = run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert len(federations) == 2
    for federation in federations:
        assert federation.props["issuer"] == EXISTING_OIDC_ISSUER != OIDC_ISSUER


def test_existing_aks_key_vault_add_on_identity_reads_the_vault() -> None:
    cluster = {**EXISTING_CLUSTER, "addonProfiles": EXISTING_ADDON}
    run = run_stack(
        {**EXISTING_AZURE, "csi": {"install": "aksAddon"}}, mocks=Mocks(existing_cluster=cluster)
    )
    granted = roles(run)
    assert EXISTING_ADDON_OBJECT in granted.values()
    assert ADDON_OBJECT not in granted.values()
    assert not run.of_type("kubernetes:helm.sh/v3:Release")  # the add-on is the driver


def test_existing_aks_key_vault_endpoint_goes_into_the_given_subnet() -> None:
    run = run_stack(EXISTING_AZURE)
    (endpoint,) = run.of_type("azure-native:network:PrivateEndpoint")
    assert endpoint.props["subnet"] == {"id": PE_SUBNET}


def test_existing_aks_managed_database_goes_into_the_given_delegated_subnet() -> None:
    run = run_stack(EXISTING_AZURE)
    (server,) = run.of_type("azure-native:dbforpostgresql:Server")
    assert server.props["network"]["delegatedSubnetResourceId"] == PG_SUBNET
    # Each private DNS zone is linked to the network of the subnet it serves.
    links = {
        r.name: r.props["virtualNetwork"]["id"]
        for r in run.of_type("azure-native:privatedns:VirtualNetworkLink")
    }
    assert links == {"store-kv-dns-link": VNET, "postgres-server-dns-link": PG_VNET}
    policies = [r.props for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")]
    assert "10.50.9.0/24" in str(policies)


def test_existing_aks_service_principal_reads_the_vault_with_its_own_credentials() -> None:
    run = run_stack(
        {
            **EXISTING_AZURE,
            "azure": {
                "identity": "servicePrincipal",
                "clientId": "11111111-2222-3333-4444-555555555555",
                "clientSecret": "sp-secret",
                "objectId": "66666666-7777-8888-9999-000000000000",
            },
        },
        secret_keys=("azure",),
    )
    granted = roles(run)
    assert "66666666-7777-8888-9999-000000000000" in granted.values()
    assert EXISTING_KUBELET_OBJECT not in granted.values()
    assert run.k8s("core/v1:Secret", "secrets-store-creds")


def test_existing_aks_ha_vault_unseals_through_the_clusters_oidc_issuer() -> None:
    run = run_stack(
        {
            **VAULT_DEV,
            "vault": {"mode": "ha", "token": "h4-root"},
            "cluster": EXISTING,
            "network": {"privateEndpointSubnetId": PE_SUBNET},
        },
        secret_keys=("vault",),
    )
    assert not run.types() & CLUSTER_TYPES
    # The unseal identity's and the snapshot job's.
    federations = run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert [f.props["issuer"] for f in federations] == [EXISTING_OIDC_ISSUER] * 2
    # The unseal key's vault and the snapshot storage.
    endpoints = run.of_type("azure-native:network:PrivateEndpoint")
    assert [e.props["subnet"] for e in endpoints] == [{"id": PE_SUBNET}] * 2


def test_existing_aks_with_vault_dev_reaches_vault_as_the_deployer() -> None:
    run = run_stack({**VAULT_DEV, "cluster": EXISTING})
    assert not run.types() & CLUSTER_TYPES
    assert not run.of_type("azure-native:keyvault:Vault")
    # No Key Vault, so no workspace for its audit log: the cluster's monitoring is its owner's.
    assert not run.of_type("azure-native:operationalinsights:Workspace")
    provider = run.one("pulumi:providers:vault")
    assert SA_TOKEN in str(provider.inputs["headers"])  # the proxy account's token


def test_a_cluster_that_lacks_what_the_settings_need_stops_the_run() -> None:
    # An issuer URL with the issuer off: what Azure returns after it was disabled.
    cluster = {
        **EXISTING_CLUSTER,
        "oidcIssuerProfile": {"enabled": False, "issuerURL": EXISTING_OIDC_ISSUER},
    }
    with pytest.raises(Exception, match="--enable-oidc-issuer"):
        run_stack(
            {**EXISTING_AZURE, "azure": {"identity": "workload"}},
            mocks=Mocks(existing_cluster=cluster),
        )


def test_the_key_vault_add_on_must_poll_as_often_as_the_settings_say() -> None:
    cluster = {**EXISTING_CLUSTER, "addonProfiles": EXISTING_ADDON}  # it polls every 30s
    with pytest.raises(Exception, match=r"polls every 30s, not every 2m"):
        run_stack(
            {**EXISTING_AZURE, "csi": {"install": "aksAddon"}, "rotationPollInterval": "2m"},
            mocks=Mocks(existing_cluster=cluster),
        )


FACTS = ClusterFacts(
    name="aks",
    resource_group="rg",
    oidc_issuer_url="https://issuer/",
    workload_identity=True,
    key_vault_addon=False,
    addon_rotation=None,
    app_routing=False,
    kubelet_client_id="c",
    kubelet_object_id="o",
)


@pytest.mark.parametrize(
    ("facts", "needs", "expected"),
    [
        (FACTS, ClusterNeeds(workload_identity=True), None),
        (
            replace(FACTS, workload_identity=False),
            ClusterNeeds(workload_identity=True),
            "--enable-workload-identity",
        ),
        (FACTS, ClusterNeeds(key_vault_addon=True), "azure-keyvault-secrets-provider"),
        (
            replace(FACTS, key_vault_addon=True),
            ClusterNeeds(),
            "set csi.install aksAddon",
        ),
        (FACTS, ClusterNeeds(app_routing=True), "az aks approuting enable"),
        (
            replace(FACTS, key_vault_addon=True),
            ClusterNeeds(key_vault_addon=True),
            "does not rotate secrets: az aks addon update --resource-group rg --name aks "
            "--addon azure-keyvault-secrets-provider --enable-secret-rotation "
            "--rotation-poll-interval 30s",
        ),
        (
            replace(FACTS, key_vault_addon=True, addon_rotation="2m"),
            ClusterNeeds(key_vault_addon=True),
            "polls every 2m, not every 30s (rotationPollInterval)",
        ),
        (
            replace(FACTS, key_vault_addon=True, addon_rotation="0.5m"),
            ClusterNeeds(key_vault_addon=True),
            None,  # the same interval, written another way
        ),
        (
            replace(FACTS, kubelet_object_id=None),
            ClusterNeeds(),
            "kubelet",
        ),
    ],
)
def test_missing_names_each_gap_with_its_fix(
    facts: ClusterFacts, needs: ClusterNeeds, expected: str | None
) -> None:
    problems = missing(facts, needs)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0]


# --- kubeconfig -------------------------------------------------------------------------------


def test_kubeconfig_mode_touches_no_azure() -> None:
    run = run_stack(KUBECONFIG_VAULT_DEV)
    assert not [t for t in run.types() if t.startswith("azure-native:")]
    assert not [t for t in run.types() if t.startswith("aidbox-secrets:azure:")]
    assert not run.calls  # no Azure invoke either
    assert run.output("clusterMode") == "kubeconfig"
    assert run.output("clusterName") == "kind-aidbox"
    for key in ("resourceGroupName", "getCredentialsCommand", "vnetId", "logAnalyticsWorkspaceId"):
        assert key not in run.outputs


def test_kubeconfig_provider_reads_the_file_and_context_given() -> None:
    provider = run_stack(KUBECONFIG_VAULT_DEV).one("pulumi:providers:kubernetes")
    assert provider.props["kubeconfig"] == str(KUBECONFIG)  # a path: no credential in state
    assert provider.props["context"] == "kind-aidbox"


def test_inline_kubeconfig_is_a_secret() -> None:
    inline = {"mode": "kubeconfig", "kubeconfig": KUBECONFIG.read_text(), "context": "token"}
    run = run_stack({**VAULT_EXTERNAL, "cluster": inline}, secret_keys=("cluster", "vault"))
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"]["4dabf18193072939515e22adb298388d"]  # secret sig
    assert provider.props["kubeconfig"] == KUBECONFIG.read_text()


@pytest.mark.parametrize("context", ["kind-aidbox", "exec"])
def test_vault_dev_is_reached_through_the_api_server_as_the_proxy_account(context: str) -> None:
    """Whatever the kubeconfig user authenticates with (a certificate, or a credential plugin
    the Vault provider could not run), Vault is reached as the program's proxy account; the
    user's credentials stay with the Kubernetes provider and no file is written for them."""
    run = run_stack({**VAULT_DEV, "cluster": {**LOCAL, "context": context}})
    provider = run.one("pulumi:providers:vault").props
    server = {"kind-aidbox": "https://127.0.0.1:6443", "exec": "https://other.example:6443"}
    assert provider["address"] == (
        f"{server[context]}/api/v1/namespaces/vault/services/http:vault:8200/proxy"
    )
    assert "clientAuth" not in provider
    headers = json.loads(provider["headers"])  # provider inputs arrive JSON-encoded
    assert headers == [{"name": "Authorization", "value": f"Bearer {SA_TOKEN}"}]
    assert "KINDCA" in Path(provider["caCertFile"]).read_text()


def test_external_vault_reviews_tokens_at_the_kubeconfig_api_server() -> None:
    run = run_stack(KUBECONFIG_VAULT_EXTERNAL, secret_keys=("vault",))
    config = run.one("vault:kubernetes/authBackendConfig:AuthBackendConfig").props
    assert config["kubernetesHost"] == "https://127.0.0.1:6443"
    assert "KINDCA" in config["kubernetesCaCert"]


# --- settings ---------------------------------------------------------------------------------


def parse(raw: dict, location: str | None = "westeurope", secret: tuple[str, ...] = ()) -> Settings:
    """Settings for a Vault dev stack with `raw` on top (a None value removes a key)."""
    base = {
        "secretStore": "vault",
        "vault": {"mode": "dev"},
        "secrets": {"client-secret": {"scope": "Client/basic"}},
    }
    merged = {k: v for k, v in {**base, **raw}.items() if v is not None}
    return parse_settings(
        merged,
        project="aidbox-secrets",
        stack="local",
        location=location,
        secret_keys=frozenset(secret),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"cluster": LOCAL, "secretStore": "azure", "vault": None},
            r"secretStore = 'azure' is not valid: vault with cluster.mode kubeconfig: the Azure "
            r"store needs Azure",
        ),
        ({"cluster": LOCAL, "vault": {"mode": "ha"}}, r"vault.mode = 'ha' .*kubeconfig"),
        (
            {"cluster": LOCAL, "postgres": {"mode": "azureFlexible"}},
            r"postgres.mode = 'azureFlexible' .*no Azure",
        ),
        (
            {"cluster": LOCAL, "aidbox": {"host": "fhir.example.org", "tls": {"secretName": "t"}}},
            r"aidbox.host = .*kubeconfig",
        ),
        (
            {"cluster": {**LOCAL, "tier": "Free"}},
            r"cluster.tier = 'Free' .*cluster.mode kubeconfig",
        ),
        ({"cluster": {**LOCAL, "context": "nope"}}, r"cluster.kubeconfigPath = .*no context named"),
        ({"cluster": {**LOCAL, "kubeconfigPath": "/nonexistent"}}, r"cannot read /nonexistent"),
        ({"cluster": LOCAL, "monitoring": {"retentionDays": 30}}, r"monitoring.retentionDays"),
        (
            {"cluster": LOCAL, "network": {"podCidr": "10.1.0.0/16"}},
            r"network.podCidr .*no network",
        ),
        ({"cluster": {"mode": "existingAks", "name": "aks"}}, r"cluster.resourceGroup = None"),
        ({"cluster": {**EXISTING, "zones": []}}, r"cluster.zones = \[\] .*existingAks"),
        (
            {"cluster": EXISTING, "network": {"podCidr": "10.1.0.0/16"}},
            r"network.podCidr .*no network",
        ),
        (
            {"cluster": EXISTING, "secretStore": "azure", "vault": None},
            r"network.privateEndpointSubnetId = None .*required with cluster.mode existingAks",
        ),
        (
            {"cluster": EXISTING, "network": {"privateEndpointSubnetId": "subnet-1"}},
            r"network.privateEndpointSubnetId = 'subnet-1' .*resource id",
        ),
        (
            {"cluster": EXISTING, "postgres": {"mode": "azureFlexible"}},
            r"network.postgresSubnetId = None .*delegated",
        ),
        (
            {"network": {"postgresSubnetId": PG_SUBNET}},
            r"postgresSubnetId .*only with .*existingAks",
        ),
        (
            {"cluster": {"mode": "k8s"}},
            r"cluster.mode = 'k8s' .*\['aks', 'existingAks', 'kubeconfig'\]",
        ),
    ],
)
def test_what_a_mode_cannot_give_is_refused(raw: dict, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        parse(raw)


def test_inline_kubeconfig_must_be_secret_and_is_never_shown() -> None:
    inline = {"mode": "kubeconfig", "kubeconfig": "kind: Config\ncurrent-context: x\n"}
    with pytest.raises(SettingsError, match=r"stored in plain text"):
        parse({"cluster": inline})
    with pytest.raises(SettingsError) as error:
        parse({"cluster": inline}, secret=("cluster",))
    assert "current-context" not in str(error.value) and "(secret)" in str(error.value)


def test_kubeconfig_mode_needs_no_azure_location_and_defaults_to_the_in_cluster_database() -> None:
    external = {"mode": "external", "address": "https://vault.example:8200", "token": "t"}
    settings = parse(
        {
            "cluster": LOCAL,
            "production": True,
            "vault": external,
            "aidbox": {
                "replicas": 2,
                "image": "healthsamurai/aidboxone:2605.0",
                "internal": {"baseUrl": "https://fhir.example.org"},
            },
            "aidboxLicense": "license",
        },
        location=None,
        secret=("vault", "aidboxLicense"),
    )
    assert settings.cluster.mode == "kubeconfig"
    assert settings.postgres.mode == "inCluster"  # azureFlexible on an AKS production stack
    assert settings.location == ""


def test_existing_aks_takes_no_cluster_monitoring_but_keeps_the_audit_workspace() -> None:
    with pytest.raises(SettingsError, match=r"monitoring.prometheus .*owner's"):
        parse({"cluster": EXISTING, "monitoring": {"prometheus": True}})
    settings = parse({"cluster": EXISTING, "monitoring": {"retentionDays": 60}})
    assert (settings.monitoring.prometheus, settings.monitoring.container_insights) == (
        False,
        False,
    )
    assert settings.monitoring.retention_days == 60
