"""Each setting reaches the place it lands, in every mode and in a non-default namespace, and the
details a small slip would break: the database's storage, the restart checksum, hardening."""

from __future__ import annotations

import hashlib
from typing import Any

import cases
import pytest
import yaml
from harness import (
    AZURE_DEV,
    AZURE_SIZED,
    AZURE_TUNED,
    AZURE_TUNED_SECRETS,
    CLINIC_ACCOUNT,
    CLINIC_NAMESPACE,
    VAULT_DEV,
    VAULT_PUBLIC,
    StackRun,
    run_stack,
)

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
NAMESPACE, ACCOUNT = CLINIC_NAMESPACE, CLINIC_ACCOUNT
EXTERNAL = {"mode": "external", "address": "https://vault.example:8200", "token": "t"}
SP = {
    "identity": "servicePrincipal",
    "clientId": "11111111-2222-3333-4444-555555555555",  # ids are GUIDs
    "clientSecret": "s",
    "objectId": "66666666-7777-8888-9999-000000000000",
}
# (config, secret keys) for each way the program can run, all in namespace "clinic" with the
# Aidbox ServiceAccount "fhir" (kubelet, aksAddon and dev Vault: shared runs with more settings).
MODES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "azure-kubelet": (AZURE_TUNED, AZURE_TUNED_SECRETS),
    "azure-workload": ({**AZURE_DEV, "azure": {"identity": "workload"}}, ()),
    "azure-servicePrincipal": ({**AZURE_DEV, "azure": SP}, ("azure",)),
    "azure-aksAddon": (dict(cases.CASES["azure-aksAddon"].config), ()),
    "vault-dev": (VAULT_PUBLIC, ()),
    "vault-external": ({**VAULT_DEV, "vault": EXTERNAL}, ("vault",)),
}
# Namespaces the program installs cluster-wide parts into, apart from Aidbox's.
SYSTEM_NAMESPACES = {"kube-system", "vault"}


def in_clinic(mode: str) -> StackRun:
    config, secret_keys = MODES[mode]
    aidbox = {**config.get("aidbox", {}), "serviceAccount": ACCOUNT}
    return run_stack({**config, "namespace": NAMESPACE, "aidbox": aidbox}, secret_keys=secret_keys)


RUNS: dict[str, StackRun] = {}


@pytest.fixture(params=MODES, scope="module")
def clinic(request: pytest.FixtureRequest) -> StackRun:
    if request.param not in RUNS:
        RUNS[request.param] = in_clinic(request.param)
    return RUNS[request.param]


def _namespaced(run: StackRun) -> list[tuple[str, str]]:
    """(object, namespace) of every namespaced Kubernetes object the program declares."""
    found = []
    for resource in run.resources:
        if not resource.custom or not resource.type.startswith("kubernetes:"):
            continue
        namespace = resource.props.get("namespace") or (resource.props.get("metadata") or {}).get(
            "namespace"
        )
        if namespace is not None:
            found.append((f"{resource.type} {resource.name}", namespace))
    return found


def test_every_aidbox_object_lands_in_the_configured_namespace(clinic: StackRun) -> None:
    misplaced = [
        (what, ns) for what, ns in _namespaced(clinic) if ns not in {NAMESPACE, *SYSTEM_NAMESPACES}
    ]
    assert not misplaced
    aidbox_namespace = clinic.one("kubernetes:core/v1:Namespace", "aks-namespace")
    assert aidbox_namespace.props["metadata"]["name"] == NAMESPACE
    assert clinic.output("namespace") == NAMESPACE


def test_the_pod_runs_as_the_configured_service_account_the_store_trusts(clinic: StackRun) -> None:
    pod = clinic.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == ACCOUNT
    assert clinic.k8s("core/v1:ServiceAccount", ACCOUNT).props["metadata"]["namespace"] == NAMESPACE
    # Aidbox's account, and the database's (tests/test_stack_database_reader.py), each in the
    # namespace the pods run in.
    accounts = {ACCOUNT, "aidbox-db"}
    subjects = {f"system:serviceaccount:{NAMESPACE}:{account}" for account in accounts}
    federations = clinic.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert {f.props["subject"] for f in federations} <= subjects
    for role in clinic.of_type("vault:kubernetes/authBackendRole:AuthBackendRole"):
        assert role.props["boundServiceAccountNames"][0] in accounts
        assert role.props["boundServiceAccountNamespaces"] == [NAMESPACE]
    roles = clinic.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    if roles:
        assert {r.props["boundServiceAccountNames"][0] for r in roles} == accounts


def test_store_parameters_reach_the_secret_provider_class_in_the_namespace(
    clinic: StackRun,
) -> None:
    spc = clinic.spc().props
    assert spc["metadata"]["namespace"] == NAMESPACE
    volumes = clinic.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    csi = next(v["csi"] for v in volumes["volumes"] if "csi" in v)
    assert csi["volumeAttributes"]["secretProviderClass"] == spc["metadata"]["name"]


def test_key_vault_settings_reach_the_vault() -> None:
    assert AZURE_SIZED["keyVault"] == {"name": "kv-clinic-01", "retentionDays": 30}
    run = run_stack(AZURE_SIZED)
    props = run.one("azure-native:keyvault:Vault").props
    assert props["vaultName"] == "kv-clinic-01"
    assert props["properties"]["softDeleteRetentionInDays"] == 30
    assert props["properties"]["enablePurgeProtection"] is True
    assert run.spc().props["spec"]["parameters"]["keyvaultName"] == "kv-clinic-01"
    for secret in run.of_type("azure-native:keyvault:Secret"):
        assert secret.props["vaultName"] == "kv-clinic-01"


def test_external_vault_settings_reach_provider_auth_and_secret_provider_class() -> None:
    vault = {
        **EXTERNAL,
        "namespace": "team-a",
        "helmNamespace": "vault-csi",
        "authMountPath": "aks-clinic",
        "kvMount": "kv",
        "secretPath": "clinic/aidbox",
        "policyName": "clinic-read",
        "roleName": "clinic-aidbox",
        "audience": "vault-clinic",
    }
    run = run_stack({**VAULT_DEV, "vault": vault}, secret_keys=("vault",))
    provider = run.one("pulumi:providers:vault").props
    assert provider["namespace"] == "team-a" and provider["address"] == EXTERNAL["address"]
    params = run.spc().props["spec"]["parameters"]
    assert params["vaultNamespace"] == "team-a"
    assert params["vaultAddress"] == EXTERNAL["address"]
    assert params["vaultKubernetesMountPath"] == "aks-clinic"
    assert params["roleName"] == "clinic-aidbox" and params["audience"] == "vault-clinic"
    assert yaml.safe_load(params["objects"])[0]["secretPath"] == (
        "kv/data/clinic/aidbox/client-secret"
    )
    assert run.one("vault:index/authBackend:AuthBackend").props["path"] == "aks-clinic"
    role = run.named("store-role").props
    assert (role["roleName"], role["audience"]) == ("clinic-aidbox", "vault-clinic")
    assert role["tokenPolicies"] == ["clinic-read"]
    secret = run.named("store-kv-client-secret").props
    assert (secret["mount"], secret["name"]) == ("kv", "clinic/aidbox/client-secret")
    policy = run.named("store-policy").props["policy"]
    assert policy.startswith('path "kv/data/clinic/aidbox/client-secret"')
    # The database's role and policy follow the configured names.
    database_role = run.named("store-role-database").props
    assert (database_role["roleName"], database_role["audience"]) == (
        "clinic-aidbox-database",
        "vault-clinic",
    )
    assert database_role["tokenPolicies"] == ["clinic-read-database"]
    assert run.spc("aidbox-db-secrets").props["spec"]["parameters"]["roleName"] == (
        "clinic-aidbox-database"
    )
    assert run.named("store-chart").props["namespace"] == "vault-csi"
    reviewer = run.k8s("core/v1:ServiceAccount", "vault-token-reviewer").props
    assert reviewer["metadata"]["namespace"] == "vault-csi"


def test_aidbox_and_database_settings_reach_their_workloads() -> None:
    aidbox, postgres = AZURE_SIZED["aidbox"], AZURE_SIZED["postgres"]
    run = run_stack(AZURE_SIZED)
    deployment = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]
    container = deployment["template"]["spec"]["containers"][0]
    assert deployment["replicas"] == 3 and container["image"] == aidbox["image"]
    assert container["resources"] == {
        "requests": {"cpu": "750m", "memory": "3Gi"},
        "limits": {"cpu": "3", "memory": "6Gi"},
    }
    assert run.k8s("policy/v1:PodDisruptionBudget", "aidbox").props["spec"]["maxUnavailable"] == 1
    db = run.k8s("apps/v1:StatefulSet", "aidbox-db").props["spec"]
    assert db["template"]["spec"]["containers"][0]["image"] == postgres["image"]
    claim = db["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "64Gi"


def test_database_data_lives_on_its_volume() -> None:
    """PGDATA inside the mounted claim (a subdirectory: the volume root holds lost+found), one
    writer, and the claim template the mount names."""
    db = run_stack(AZURE_DEV).k8s("apps/v1:StatefulSet", "aidbox-db").props["spec"]
    container = db["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    claims = {c["metadata"]["name"]: c["spec"] for c in db["volumeClaimTemplates"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    data = [name for name in mounts if name in claims]
    assert len(data) == 1, f"mounts {mounts} vs claims {list(claims)}"
    mount = mounts[data[0]].rstrip("/")
    assert env["PGDATA"].startswith(mount + "/") and env["PGDATA"] != mount + "/"
    assert claims[data[0]]["accessModes"] == ["ReadWriteOnce"]
    assert db["replicas"] == 1, "one writer per volume"


@pytest.mark.parametrize("mode", ["azure-kubelet", "vault-dev"])
def test_restart_checksum_covers_every_file_aidbox_reads_at_start(mode: str) -> None:
    config, secret_keys = MODES[mode]
    run = run_stack(config, secret_keys=secret_keys)
    data = run.k8s("core/v1:ConfigMap", "aidbox-config").props["data"]
    assert set(data) == {"vault-config.json", "init-bundle.json"}
    digest = hashlib.sha256()
    for text in sorted(data.values()):
        digest.update(text.encode())
    template = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]
    assert template["metadata"]["annotations"]["checksum/aidbox-config"] == digest.hexdigest()
    mounted = {v["configMap"]["name"] for v in template["spec"]["volumes"] if "configMap" in v}
    assert mounted == {"aidbox-config"}, "a ConfigMap Aidbox reads is outside the checksum"


@pytest.mark.parametrize("workload", ["Deployment aidbox", "StatefulSet aidbox-db"])
def test_workloads_are_hardened(workload: str) -> None:
    kind, name = workload.split()
    run = run_stack(AZURE_DEV)
    pod = run.k8s(f"apps/v1:{kind}", name).props["spec"]["template"]["spec"]
    account = pod.get("serviceAccountName")
    mounts_token = pod.get("automountServiceAccountToken")
    if mounts_token is None and account:
        mounts_token = run.k8s("core/v1:ServiceAccount", account).props.get(
            "automountServiceAccountToken"
        )
    assert mounts_token is False, f"{workload}: the ServiceAccount token is mounted"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"] and container["resources"]["requests"]
