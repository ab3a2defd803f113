"""The whole program with the HashiCorp Vault store (dev and external), under mocks."""

from __future__ import annotations

import json

import pytest
import yaml
from harness import (
    AZURE_DEV,
    CA_PEM,
    LB_IP,
    SA_TOKEN,
    VAULT_DEV,
    StackRun,
    depends_on,
    is_secret,
    plain_strings,
    run_stack,
)

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
EXTERNAL = {
    **VAULT_DEV,
    "vault": {"mode": "external", "address": "https://vault.example:8200", "token": "t0ken"},
}


@pytest.fixture(scope="module")
def dev() -> StackRun:
    return run_stack(VAULT_DEV)


@pytest.fixture(scope="module")
def external() -> StackRun:
    return run_stack(EXTERNAL, secret_keys=["vault"])


def pod(run: StackRun) -> dict:
    return run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]


def test_no_key_vault_and_no_role_assignment(dev: StackRun, external: StackRun) -> None:
    for run in (dev, external):
        types = run.types()
        assert not [t for t in types if t.startswith("azure-native:keyvault")]
        assert "azure-native:authorization:RoleAssignment" not in types
        assert "aidbox-secrets:stores:HashiCorpVaultStore" in types
        assert run.one("aidbox-secrets:stores:HashiCorpVaultStore").name == "store"


def test_dev_vault_chart(dev: StackRun) -> None:
    release = dev.named("store-chart")
    props = release.props
    assert (props["chart"], props["version"]) == ("./charts/vault-0.34.1.tgz", "0.34.1")
    assert "repositoryOpts" not in props
    assert props["name"] == "vault" and props["namespace"] == "vault"
    values = props["values"]
    assert values["server"]["dev"]["enabled"] is True
    assert values["csi"]["enabled"] is True
    assert values["injector"]["enabled"] is False
    # The root token is generated, and the release values holding it are secret.
    assert values["server"]["dev"]["devRootToken"] == "generated-store-root-token"
    assert is_secret(release.inputs["values"])


def test_dev_vault_api_is_exposed_to_the_deployer_only(dev: StackRun) -> None:
    service = dev.k8s("core/v1:Service", "vault-deployer-api").props
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerSourceRanges"] == ["203.0.113.7/32"]
    assert service["spec"]["selector"]["app.kubernetes.io/instance"] == "vault"
    provider = dev.one("pulumi:providers:vault")
    assert provider.props["address"] == f"http://{LB_IP}:8200"
    assert is_secret(provider.inputs["token"])
    assert provider.props["token"] == "generated-store-root-token"
    assert dev.output("vaultAddress") == f"http://{LB_IP}:8200"


def test_bare_deployer_addresses_reach_the_service_as_cidrs() -> None:
    ranges = ["203.0.113.7", "2001:db8::1", "198.51.100.9/24"]
    run = run_stack({**VAULT_DEV, "vault": {"mode": "dev", "deployerSourceRanges": ranges}})
    service = run.k8s("core/v1:Service", "vault-deployer-api").props
    assert service["spec"]["loadBalancerSourceRanges"] == [
        "203.0.113.7/32",
        "2001:db8::1/128",
        "198.51.100.0/24",
    ]


def test_vault_resources_use_the_explicit_provider(dev: StackRun) -> None:
    provider = dev.one("pulumi:providers:vault")
    vault_resources = [r for r in dev.resources if r.type.startswith("vault:")]
    assert len(vault_resources) == 5
    for resource in vault_resources:
        assert provider.name in resource.provider, resource.name


def test_kv_secret_holds_each_secret_and_survives_rotation(dev: StackRun) -> None:
    secret = dev.one("vault:kv/secretV2:SecretV2")
    assert secret.props["mount"] == "secret" and secret.props["name"] == "aidbox/client"
    assert is_secret(secret.inputs["dataJson"])
    assert json.loads(secret.props["dataJson"]) == {
        "client-secret": "generated-store-client-secret-value"
    }
    assert secret.props["disableRead"] is True
    assert secret.opts is not None and secret.opts.ignore_changes == ["dataJson"]


def test_configured_value_is_used() -> None:
    run = run_stack(
        {**VAULT_DEV, "secrets": {"client-secret": {"scope": "Client/basic", "value": "v4lue"}}},
        secret_keys=["secrets"],
    )
    data = json.loads(run.one("vault:kv/secretV2:SecretV2").props["dataJson"])
    assert data == {"client-secret": "v4lue"}
    for resource in run.resources:
        assert not [s for s in plain_strings(resource.inputs) if "v4lue" in s], resource.name


def test_kubernetes_auth_policy_and_role_agree(dev: StackRun) -> None:
    backend = dev.one("vault:index/authBackend:AuthBackend").props
    assert backend == {"type": "kubernetes", "path": "kubernetes"}
    config = dev.one("vault:kubernetes/authBackendConfig:AuthBackendConfig").props
    assert config["kubernetesHost"] == "https://kubernetes.default.svc"
    assert config["backend"] == "kubernetes"
    policy = dev.one("vault:index/policy:Policy").props
    assert policy["name"] == "aidbox"
    assert policy["policy"] == 'path "secret/data/aidbox/*" {\n  capabilities = ["read"]\n}\n'
    role = dev.one("vault:kubernetes/authBackendRole:AuthBackendRole")
    props = role.props
    assert props["roleName"] == "aidbox"
    assert props["backend"] == "kubernetes"
    assert props["tokenPolicies"] == [policy["name"]]
    assert props["tokenTtl"] == 3600
    assert props["boundServiceAccountNamespaces"] == ["default"]
    # The pod runs as the ServiceAccount the role binds.
    assert props["boundServiceAccountNames"] == [pod(dev)["serviceAccountName"]]
    assert dev.k8s("core/v1:ServiceAccount", "aidbox").props["metadata"]["namespace"] == "default"
    assert "store-kubernetes-auth-config" in depends_on(role)


def test_secret_provider_class_for_vault(dev: StackRun) -> None:
    spc = dev.one(SPC)
    spec = spc.props["spec"]
    assert spec["provider"] == "vault"
    params = spec["parameters"]
    assert all(isinstance(v, str) for v in params.values())
    role = dev.one("vault:kubernetes/authBackendRole:AuthBackendRole").props
    assert params["roleName"] == role["roleName"]
    assert params["vaultAddress"] == "http://vault.vault:8200"
    assert params["audience"] == role["audience"] == "vault"
    assert "vaultKubernetesMountPath" not in params  # the default mount
    objects = yaml.safe_load(params["objects"])
    assert objects == [
        {
            "objectName": "client-secret",
            "secretPath": "secret/data/aidbox/client",
            "secretKey": "client-secret",
        }
    ]
    policy_path = dev.one("vault:index/policy:Policy").props["policy"].split('"')[1]
    assert objects[0]["secretPath"].startswith(policy_path.rstrip("*"))
    assert {"csi-driver", "store-chart", "store-role", "store-kv-secret"} <= depends_on(spc)


def test_aidbox_mounts_vault_secrets(dev: StackRun) -> None:
    spec = pod(dev)
    container = spec["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets-store")
    assert mount == {"name": "secrets-store", "mountPath": "/run/vault-secrets", "readOnly": True}
    config = json.loads(
        dev.k8s("core/v1:ConfigMap", "aidbox-config").props["data"]["vault-config.json"]
    )
    assert config["secret"]["client-secret"]["path"] == "/run/vault-secrets/client-secret"
    assert dev.output("secrets") == {"client-secret": "/run/vault-secrets/client-secret"}
    assert dev.output("secretStore") == "vault"
    assert dev.output("vaultMode") == "dev"


def test_external_vault(external: StackRun) -> None:
    values = external.named("store-chart").props["values"]
    assert values["global"]["externalVaultAddr"] == "https://vault.example:8200"
    assert values["global"]["enabled"] is False and values["csi"]["enabled"] is True
    assert "server" not in values  # the chart renders the server ServiceAccount regardless
    assert "vault-deployer-api" not in {
        (r.props.get("metadata") or {}).get("name") for r in external.resources
    }
    provider = external.one("pulumi:providers:vault")
    assert provider.props["address"] == "https://vault.example:8200"
    assert is_secret(provider.inputs["token"]) and provider.props["token"] == "t0ken"
    params = external.one(SPC).props["spec"]["parameters"]
    assert params["vaultAddress"] == "https://vault.example:8200"
    assert external.output("vaultAddress") == "https://vault.example:8200"
    assert external.output("vaultMode") == "external"


def test_external_vault_reviews_tokens_through_the_aks_api(external: StackRun) -> None:
    account = external.k8s("core/v1:ServiceAccount", "vault-token-reviewer").props
    assert account["metadata"]["namespace"] == "vault"
    binding = external.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").props
    assert binding["roleRef"]["name"] == "system:auth-delegator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": "vault"}
    ]
    token = external.k8s("core/v1:Secret", "vault-token-reviewer-token").props
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "vault-token-reviewer"
    }
    config = external.one("vault:kubernetes/authBackendConfig:AuthBackendConfig")
    assert config.props["kubernetesHost"] == "https://aks.example:443"
    assert config.props["kubernetesCaCert"] == CA_PEM
    assert config.props["tokenReviewerJwt"] == SA_TOKEN
    assert is_secret(config.inputs["tokenReviewerJwt"])


def test_custom_names_flow_to_role_policy_and_spc() -> None:
    run = run_stack(
        {
            **VAULT_DEV,
            "vault": {
                **VAULT_DEV["vault"],
                "authMountPath": "aks",
                "secretPath": "apps/aidbox",
                "policyName": "aidbox-read",
                "roleName": "aidbox-app",
            },
        }
    )
    params = run.one(SPC).props["spec"]["parameters"]
    assert params["vaultKubernetesMountPath"] == "aks"
    assert params["roleName"] == "aidbox-app"
    assert yaml.safe_load(params["objects"])[0]["secretPath"] == "secret/data/apps/aidbox"
    role = run.one("vault:kubernetes/authBackendRole:AuthBackendRole").props
    assert role["backend"] == "aks" and role["tokenPolicies"] == ["aidbox-read"]
    assert (
        run.one("vault:index/policy:Policy").props["policy"].startswith('path "secret/data/apps/*"')
    )
    assert run.one("vault:kv/secretV2:SecretV2").props["name"] == "apps/aidbox"


def _shape(run: StackRun, store_names: set[str]) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in run.resources if r.name.split("-")[0] not in store_names}


def test_switching_the_store_swaps_only_the_store(dev: StackRun) -> None:
    azure = run_stack(AZURE_DEV)
    assert _shape(azure, {"store"}) == _shape(dev, {"store"})

    def normalised(run: StackRun, mount: str) -> str:
        deployment = run.k8s("apps/v1:Deployment", "aidbox").props
        text = json.dumps(deployment, sort_keys=True).replace(mount, "<mount>")
        checksum = deployment["spec"]["template"]["metadata"]["annotations"]
        return text.replace(checksum["checksum/aidbox-config"], "<checksum>")

    assert normalised(azure, "/run/azure-secrets") == normalised(dev, "/run/vault-secrets")
    assert azure.one(SPC).props["metadata"] == dev.one(SPC).props["metadata"]
