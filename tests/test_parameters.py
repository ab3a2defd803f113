"""SecretProviderClass parameters, Helm values and the Vault policy, without mocks."""

from __future__ import annotations

import pytest
import yaml

from components.kubernetes import helm_values
from components.settings import Scope, SecretSpec, SyncedSecret
from components.stores import parameters
from components.stores.vault_policy import render_policy


def test_azure_objects_is_an_array_of_yaml_strings() -> None:
    document = yaml.safe_load(parameters.azure_objects(["client-secret", "other"]))
    assert list(document) == ["array"]
    assert all(isinstance(entry, str) for entry in document["array"])
    assert [yaml.safe_load(entry) for entry in document["array"]] == [
        {"objectName": "client-secret", "objectType": "secret"},
        {"objectName": "other", "objectType": "secret"},
    ]


def test_azure_parameters_kubelet_identity() -> None:
    params = parameters.azure_parameters(
        key_vault_name="kv-a",
        tenant_id="t",
        names=["client-secret"],
        identity="vm",
        identity_client_id="kubelet-client",
    )
    assert params == {
        "keyvaultName": "kv-a",
        "tenantID": "t",
        "cloudName": "AzurePublicCloud",
        "objects": parameters.azure_objects(["client-secret"]),
        "useVMManagedIdentity": "true",
        "userAssignedIdentityID": "kubelet-client",
    }
    assert all(isinstance(v, str) for v in params.values())


def test_azure_parameters_workload_and_service_principal() -> None:
    common = dict(key_vault_name="kv-a", tenant_id="t", names=["s"])
    workload = parameters.azure_parameters(**common, identity="workload", identity_client_id="c")
    assert workload["clientID"] == "c" and "useVMManagedIdentity" not in workload
    sp = parameters.azure_parameters(**common, identity="servicePrincipal", identity_client_id=None)
    assert not {"clientID", "useVMManagedIdentity", "userAssignedIdentityID"} & set(sp)
    with pytest.raises(ValueError, match="needs a client id"):
        parameters.azure_parameters(**common, identity="vm", identity_client_id=None)


def test_vault_objects_is_a_plain_list() -> None:
    objects = yaml.safe_load(
        parameters.vault_objects(["client-secret", "api-key"], "secret/data/aidbox/client", "value")
    )
    assert objects == [
        {
            "objectName": "client-secret",
            "secretPath": "secret/data/aidbox/client/client-secret",
            "secretKey": "value",
        },
        {
            "objectName": "api-key",
            "secretPath": "secret/data/aidbox/client/api-key",
            "secretKey": "value",
        },
    ]


def test_vault_parameters_default_and_custom_mount() -> None:
    common = dict(
        address="http://vault.vault:8200",
        role_name="aidbox",
        names=["client-secret"],
        secret_api_path="secret/data/aidbox/client",
        key="value",
    )
    default = parameters.vault_parameters(**common)
    assert set(default) == {"vaultAddress", "roleName", "objects"}
    custom = parameters.vault_parameters(
        **common, auth_mount_path="aks", namespace="team-a", audience="vault"
    )
    assert custom["vaultKubernetesMountPath"] == "aks"
    assert custom["vaultNamespace"] == "team-a" and custom["audience"] == "vault"
    assert all(isinstance(v, str) for v in custom.values())


def test_secret_objects_group_by_kubernetes_secret() -> None:
    specs = [
        SecretSpec("license", Scope("Client"), kubernetes_secret=SyncedSecret("aidbox-env", "lic")),
        SecretSpec("admin", Scope("Client"), kubernetes_secret=SyncedSecret("aidbox-env", "adm")),
        SecretSpec("client-secret", Scope("Client", "basic")),
    ]
    assert parameters.secret_objects(specs) == [
        {
            "secretName": "aidbox-env",
            "type": "Opaque",
            "data": [
                {"objectName": "license", "key": "lic"},
                {"objectName": "admin", "key": "adm"},
            ],
        }
    ]
    assert parameters.secret_objects(specs[2:]) == []


def test_driver_values() -> None:
    values = helm_values.csi_driver_values(
        rotation_poll_interval="30s",
        workload_identity=False,
        scrape_annotations=False,
        sync_secrets=False,
    )
    assert values["enableSecretRotation"] is True
    assert values["rotationPollInterval"] == "30s"
    assert values["syncSecret"] == {"enabled": False}
    assert "tokenRequests" not in values
    workload = helm_values.csi_driver_values(
        rotation_poll_interval="2m",
        workload_identity=True,
        scrape_annotations=True,
        sync_secrets=True,
    )
    assert workload["syncSecret"] == {"enabled": True}
    assert {"audience": "api://AzureADTokenExchange"} in workload["tokenRequests"]
    assert workload["linux"]["podAnnotations"]["prometheus.io/port"] == "8095"


HA = helm_values.VaultHa(
    release="vault",
    namespace="vault",
    replicas=3,
    tls_secret="vault-server-tls",
    ca_config_map="vault-ca",
    key_vault_name="kv-unseal",
    key_name="vault-unseal",
    client_id="uami-client",
    tls_checksum="c0ffee",
)


def test_vault_dev_values_take_the_root_token_from_a_secret() -> None:
    dev = helm_values.vault_dev_values(token_secret="vault-dev-root-token", token_key="token")
    assert dev["server"]["dev"]["enabled"] is True and dev["csi"]["enabled"] is True
    assert dev["injector"]["enabled"] is False
    assert dev["server"]["extraSecretEnvironmentVars"] == [
        {
            "envName": "VAULT_DEV_ROOT_TOKEN",
            "secretName": "vault-dev-root-token",
            "secretKey": "token",
        }
    ]
    assert dev["server"]["extraArgs"] == '-dev-root-token-id="${VAULT_DEV_ROOT_TOKEN}"'
    assert dev["server"]["dev"]["devRootToken"] == helm_values.DEV_TOKEN_MARKER


def test_vault_external_values_render_the_csi_provider_only() -> None:
    external = helm_values.vault_external_values(address="https://v:8200", ca_config_map=None)
    assert external["global"]["externalVaultAddr"] == "https://v:8200"
    assert external["global"]["enabled"] is False and external["csi"]["enabled"] is True
    assert set(external["csi"]) == {"enabled", "image", "agent"}
    assert "server" not in external
    with_ca = helm_values.vault_external_values(address="https://v:8200", ca_config_map="vault-ca")
    csi = with_ca["csi"]
    assert csi["volumes"] == [{"name": "vault-ca", "configMap": {"name": "vault-ca"}}]
    assert csi["volumeMounts"] == [{"name": "vault-ca", "mountPath": "/vault/ca", "readOnly": True}]
    assert csi["agent"]["extraArgs"] == ["-ca-cert=/vault/ca/ca.crt"]


def test_vault_ha_values() -> None:
    values = helm_values.vault_ha_values(HA)
    server = values["server"]
    assert values["global"] == {"tlsDisable": False}
    assert values["injector"] == {"enabled": False}
    assert server["ha"]["enabled"] is True and server["ha"]["replicas"] == 3
    assert server["ha"]["raft"]["enabled"] is True
    assert server["extraLabels"] == {"azure.workload.identity/use": "true"}
    assert server["serviceAccount"]["annotations"] == {
        "azure.workload.identity/client-id": "uami-client"
    }
    assert server["volumes"] == [
        {"name": "vault-tls", "secret": {"secretName": "vault-server-tls"}}
    ]
    spread = server["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert values["csi"]["agent"]["extraArgs"] == ["-ca-cert=/vault/ca/ca.crt"]


def test_vault_raft_config_joins_every_pod_over_tls_and_unseals_with_key_vault() -> None:
    config = helm_values.vault_raft_config(HA)
    assert 'tls_cert_file = "/vault/tls/tls.crt"' in config
    assert "tls_disable" not in config
    for i in range(3):
        assert f'leader_api_addr = "https://vault-{i}.vault-internal:8200"' in config
    assert config.count('leader_ca_cert_file = "/vault/tls/ca.crt"') == 3
    assert 'seal "azurekeyvault" {\n  vault_name = "kv-unseal"\n  key_name = "vault-unseal"\n}' in (
        config
    )
    assert "client_secret" not in config  # workload identity, no secret


def test_vault_ca_cert_path_reaches_the_parameters() -> None:
    params = parameters.vault_parameters(
        address="https://vault.vault.svc:8200",
        role_name="aidbox",
        names=["client-secret"],
        secret_api_path="secret/data/aidbox/client",
        key="value",
        ca_cert_path="/vault/ca/ca.crt",
    )
    assert params["vaultCACertPath"] == "/vault/ca/ca.crt"
    without = parameters.vault_parameters(
        address="http://vault.vault:8200",
        role_name="aidbox",
        names=["client-secret"],
        secret_api_path="secret/data/aidbox/client",
        key="value",
    )
    assert "vaultCACertPath" not in without


def test_policy_is_read_only_on_one_path() -> None:
    assert render_policy("secret/data/aidbox/*") == (
        'path "secret/data/aidbox/*" {\n  capabilities = ["read"]\n}\n'
    )
