"""Every way the driver reaches Azure Key Vault, synced Secrets, legacy env and metrics."""

from __future__ import annotations

import cases
import pytest
from harness import (
    ADDON_CLIENT,
    ADDON_OBJECT,
    AZURE_DEV,
    AZURE_PUBLIC,
    AZURE_TUNED,
    AZURE_TUNED_SECRETS,
    CLINIC_NAMESPACE,
    ENV_FROM_STORE,
    OIDC_ISSUER,
    STORE_SECRETS,
    UAMI_CLIENT,
    UAMI_PRINCIPAL,
    VAULT_PUBLIC,
    StackRun,
    depends_on,
    is_secret,
    run_stack,
)
from test_reach import in_clinic

from components import naming

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
ROLE = "azure-native:authorization:RoleAssignment"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SP_CLIENT = "11111111-2222-3333-4444-555555555555"
SP_OBJECT = "66666666-7777-8888-9999-000000000000"


def params(run: StackRun) -> dict[str, str]:
    return run.spc().props["spec"]["parameters"]


def pod(run: StackRun) -> dict:
    return run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]


def env(run: StackRun) -> dict[str, dict]:
    return {e["name"]: e for e in pod(run)["containers"][0]["env"]}


def reader_grant(run: StackRun) -> dict:
    grants = [r.props for r in run.of_type(ROLE) if "KeyVault" in r.props["scope"]]
    assert len(grants) == 1
    assert grants[0]["roleDefinitionId"].endswith(SECRETS_USER)
    return grants[0]


@pytest.fixture(scope="module")
def workload() -> StackRun:
    return run_stack({**AZURE_DEV, "azure": {"identity": "workload"}})


def test_workload_identity_federates_the_aidbox_service_account(workload: StackRun) -> None:
    # Aidbox's keeps the names it had; the database's is store-database-identity.
    identity = workload.named("store-identity").props
    assert identity["resourceGroupName"] == "rg-aidbox-secrets-dev"
    federation = workload.named("store-federation").props
    assert federation["issuer"] == OIDC_ISSUER
    assert federation["subject"] == "system:serviceaccount:default:aidbox"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]
    cluster = workload.one("azure-native:containerservice:ManagedCluster").props
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert cluster["oidcIssuerProfile"] == {"enabled": True}


def test_workload_identity_is_granted_and_used(workload: StackRun) -> None:
    # Secrets User on each of Aidbox's secrets, one by one (not the vault, which holds the
    # database administrator's password too).
    grants = [r.props for r in workload.of_type(ROLE) if r.props["principalId"] == UAMI_PRINCIPAL]
    vault = workload.one("azure-native:keyvault:Vault").props
    vault_name = vault["vaultName"]
    read = {g["scope"].rsplit("/secrets/", 1)[1]: g for g in grants}
    assert set(read) == {"client-secret", "aidbox-auth-keys", "aidbox-db-app-password"}
    for secret, grant in read.items():
        assert grant["roleDefinitionId"].endswith(SECRETS_USER)
        assert grant["principalType"] == "ServicePrincipal"
        assert grant["scope"].endswith(f"/vaults/{vault_name}/secrets/{secret}")
        assert grant["roleAssignmentName"] == naming.role_assignment_name(
            vault_name, SECRETS_USER, "workload", secret
        )
    p = params(workload)
    assert p["clientID"] == UAMI_CLIENT
    assert not {"useVMManagedIdentity", "userAssignedIdentityID"} & set(p)
    account = workload.k8s("core/v1:ServiceAccount", "aidbox").props
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": UAMI_CLIENT}
    assert pod(workload)["serviceAccountName"] == "aidbox"
    token_requests = workload.named("csi-driver").props["values"]["tokenRequests"]
    assert {"audience": "api://AzureADTokenExchange"} in token_requests
    assert workload.output("keyVaultReader") == "workload"


def test_kubelet_mode_has_no_token_requests_nor_annotations() -> None:
    run = run_stack(AZURE_DEV)
    assert "tokenRequests" not in run.named("csi-driver").props["values"]
    assert run.k8s("core/v1:ServiceAccount", "aidbox").props["metadata"]["annotations"] == {}
    assert "nodePublishSecretRef" not in next(v for v in pod(run)["volumes"] if "csi" in v)["csi"]


@pytest.fixture(scope="module")
def service_principal() -> StackRun:
    config = {
        **AZURE_DEV,
        "azure": {
            "identity": "servicePrincipal",
            "clientId": SP_CLIENT,
            "clientSecret": "sp-secret",
            "objectId": SP_OBJECT,
        },
    }
    return run_stack(config, secret_keys=["azure"])


def test_service_principal_credentials_go_into_a_labelled_secret(
    service_principal: StackRun,
) -> None:
    secret = service_principal.k8s("core/v1:Secret", "secrets-store-creds")
    assert secret.props["metadata"]["namespace"] == "default"
    assert secret.props["metadata"]["labels"] == {"secrets-store.csi.k8s.io/used": "true"}
    assert secret.props["stringData"] == {"clientid": SP_CLIENT, "clientsecret": "sp-secret"}
    assert is_secret(secret.inputs["stringData"])
    volume = next(v for v in pod(service_principal)["volumes"] if "csi" in v)
    assert volume["csi"]["nodePublishSecretRef"] == {"name": "secrets-store-creds"}
    p = params(service_principal)
    assert not {"clientID", "useVMManagedIdentity", "userAssignedIdentityID"} & set(p)
    assert reader_grant(service_principal)["principalId"] == SP_OBJECT
    assert "store-sp-credentials" in depends_on(service_principal.spc())


def test_service_principal_secret_waits_for_its_namespace() -> None:
    """In a namespace the program creates, the credentials Secret takes the namespace from
    the Namespace resource, so it is created after it (not raced against it)."""
    run = in_clinic("azure-servicePrincipal")  # a shared run, in namespace "clinic"
    secret = run.k8s("core/v1:Secret", "secrets-store-creds")
    assert secret.props["metadata"]["namespace"] == CLINIC_NAMESPACE
    namespace = run.one("kubernetes:core/v1:Namespace")
    assert any(
        urn.endswith(f"::{namespace.name}")
        for urn in secret.property_dependencies.get("metadata", [])
    ), secret.property_dependencies


@pytest.fixture(scope="module")
def addon() -> StackRun:
    case = cases.CASES["azure-aksAddon"]  # a shared run (in namespace "clinic")
    assert case.config["aidbox-secrets:rotationPollInterval"] == "1m"
    return cases.run(case.id)


def test_aks_addon_replaces_the_helm_releases(addon: StackRun) -> None:
    assert not addon.of_type("kubernetes:helm.sh/v3:Release")
    cluster = addon.one("azure-native:containerservice:ManagedCluster").props
    assert cluster["addonProfiles"]["azureKeyvaultSecretsProvider"] == {
        "enabled": True,
        "config": {"enableSecretRotation": "true", "rotationPollInterval": "1m"},
    }


def test_aks_addon_identity_is_granted_and_used(addon: StackRun) -> None:
    assert reader_grant(addon)["principalId"] == ADDON_OBJECT
    p = params(addon)
    assert p["useVMManagedIdentity"] == "true"
    assert p["userAssignedIdentityID"] == ADDON_CLIENT
    assert addon.output("keyVaultReader") == "aks-addon"
    assert "csi-driver" not in depends_on(addon.spc())


# Shared runs that mirror two store secrets into "aidbox-store" and read them in env.
SYNCED = AZURE_PUBLIC
SYNCED_VAULT = VAULT_PUBLIC


@pytest.mark.parametrize("config", [SYNCED, SYNCED_VAULT], ids=["azure", "vault"])
def test_synced_secrets_feed_env_from_the_store(config: dict) -> None:
    assert config["secrets"] == STORE_SECRETS and config["aidbox"]["envFromStore"] == ENV_FROM_STORE
    run = run_stack(config)
    spec = run.spc().props["spec"]
    assert spec["secretObjects"][0] == {
        "secretName": "aidbox-store",
        "type": "Opaque",
        "data": [
            {"objectName": "aidbox-license", "key": "license"},
            {"objectName": "admin-password", "key": "admin-password"},
        ],
    }
    # The user's mirror only: the program's own secrets are mirrored nowhere.
    assert [s["secretName"] for s in spec["secretObjects"]] == ["aidbox-store"]
    by_name = env(run)
    # Aidbox reads them from the mounted files (its start script), not from the mirror.
    assert "BOX_LICENSE" not in by_name and "BOX_ADMIN_PASSWORD" not in by_name
    script = pod(run)["containers"][0]["command"][2]
    mount = run.output("secrets")["client-secret"].rsplit("/", 1)[0]
    assert f"_read {mount}/aidbox-license\nexport BOX_LICENSE=" in script
    assert f"_read {mount}/admin-password\nexport BOX_ADMIN_PASSWORD=" in script
    # The generated Secret keeps only what the store does not hold.
    assert set(run.k8s("core/v1:Secret", "aidbox").props["stringData"]) == {"root-client-secret"}
    vault_config = run.k8s("core/v1:ConfigMap", "aidbox-config").props["data"]["vault-config.json"]
    assert "aidbox-license" not in vault_config and "client-secret" in vault_config
    # Every synced secret is mounted too: the driver syncs only what it mounts.
    names = spec["parameters"]["objects"]
    assert "aidbox-license" in names and "admin-password" in names


def test_legacy_secret_file_env_is_opt_in() -> None:
    run = run_stack({**AZURE_DEV, "aidbox": {"legacySecretFileEnv": True}})
    by_name = env(run)
    assert by_name["AIDBOX_SECRET_FILES_ENABLED"]["value"] == "true"
    assert by_name["AIDBOX_SECRET_FILES_DIRS"]["value"] == "/run/azure-secrets"
    assert by_name["BOX_VAULT_CONFIG"]["value"] == "/etc/aidbox/vault-config.json"
    assert "AIDBOX_SECRET_FILES_ENABLED" not in env(run_stack(AZURE_DEV))


def test_metrics_annotations_by_default_and_service_monitors_by_setting() -> None:
    default = run_stack(AZURE_DEV)
    driver = default.named("csi-driver").props["values"]
    assert driver["linux"]["podAnnotations"]["prometheus.io/port"] == "8095"
    provider = default.named("store-provider").props["values"]
    assert provider["linux"]["podAnnotations"]["prometheus.io/port"] == "8898"
    assert not default.of_type("kubernetes:azmonitoring.coreos.com/v1:ServiceMonitor")

    monitored = run_stack({**AZURE_DEV, "csi": {"metrics": "serviceMonitor"}})
    assert "podAnnotations" not in monitored.named("csi-driver").props["values"]["linux"]
    monitors = [
        m
        for m in monitored.of_type("kubernetes:azmonitoring.coreos.com/v1:ServiceMonitor")
        if m.name.startswith("metrics-")
    ]
    assert len(monitors) == 2
    ports = {
        r.props["spec"]["ports"][0]["port"]
        for r in monitored.of_type("kubernetes:core/v1:Service")
        if r.name.startswith("metrics-")
    }
    assert ports == {8095, 8898}
    for monitor in monitors:
        assert monitor.props["metadata"]["namespace"] == "kube-system"
        assert monitor.props["spec"]["endpoints"][0]["port"] == "metrics"

    assert AZURE_TUNED["csi"] == {"metrics": "none"}
    quiet = run_stack(AZURE_TUNED, secret_keys=AZURE_TUNED_SECRETS)
    assert "podAnnotations" not in quiet.named("csi-driver").props["values"]["linux"]
