"""The whole program with the HashiCorp Vault store (dev, ha and external), under mocks."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from harness import (
    AZURE_DEV,
    CA_PEM,
    ENTRA_TOKEN,
    PEM_PRIVATE_HEAD,
    SA_TOKEN,
    VAULT_CA_PEM,
    VAULT_DEV,
    VAULT_EXTERNAL,
    VAULT_EXTERNAL_CA,
    VAULT_EXTERNAL_CA_FILE,
    VAULT_HA,
    VAULT_HA_INIT,
    VAULT_TUNED,
    VAULT_TUNED_SECRETS,
    Mocks,
    StackRun,
    depends_on,
    is_secret,
    plain_strings,
    run_stack,
)

from components import key_bundle
from components.settings.managed import MANAGED_SECRETS

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
EXTERNAL = VAULT_EXTERNAL
EXTERNAL_CA = VAULT_EXTERNAL_CA_FILE
HA_TOKEN = VAULT_HA_INIT
API = "https://aks.example:443"


@pytest.fixture(scope="module")
def dev() -> StackRun:
    return run_stack(VAULT_DEV)


@pytest.fixture(scope="module")
def external() -> StackRun:
    return run_stack(EXTERNAL, secret_keys=["vault"])


@pytest.fixture(scope="module")
def ha() -> StackRun:
    """An `ha` Vault after its one-time init: the token is set."""
    return run_stack(HA_TOKEN, secret_keys=["vault"])


@pytest.fixture(scope="module")
def ha_new() -> StackRun:
    """An `ha` Vault before its one-time init: no token yet."""
    return run_stack(VAULT_HA)


def pod(run: StackRun) -> dict:
    return run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]


def test_no_key_vault_and_no_role_assignment(dev: StackRun, external: StackRun) -> None:
    for run in (dev, external):
        types = run.types()
        assert not [t for t in types if t.startswith("azure-native:keyvault")]
        grants = [
            r.props["scope"] for r in run.of_type("azure-native:authorization:RoleAssignment")
        ]
        assert not [scope for scope in grants if "KeyVault" in scope]
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
    # The generated root token reaches the pod through a Secret, never the release values.
    assert "generated-store-root-token" not in json.dumps(values)
    assert values["server"]["extraSecretEnvironmentVars"][0]["secretName"] == "vault-dev-root-token"
    token = dev.k8s("core/v1:Secret", "vault-dev-root-token")
    assert token.props["metadata"]["namespace"] == "vault"
    assert token.props["stringData"] == {"token": "generated-store-root-token"}
    data = token.inputs["stringData"]
    assert is_secret(data) or is_secret(data["token"])
    assert {"store-dev-root-token", "store-namespace"} <= depends_on(release)


def test_no_vault_load_balancer_in_any_mode(
    dev: StackRun, ha: StackRun, ha_new: StackRun, external: StackRun
) -> None:
    for run in (dev, ha, ha_new, external):
        services = run.of_type("kubernetes:core/v1:Service")
        balancers = [s.name for s in services if s.props["spec"].get("type") == "LoadBalancer"]
        assert balancers == [] and "deployerSourceRanges" not in json.dumps(
            [r.props for r in run.resources if r.type.startswith("kubernetes:helm")]
        )


def _reaches_vault_through_the_api_server(run: StackRun, target: str, token: str) -> None:
    provider = run.one("pulumi:providers:vault")
    props = provider.props
    assert props["address"] == f"{API}/api/v1/namespaces/vault/services/{target}:8200/proxy"
    assert run.output("vaultAddress") == props["address"]
    # Vault's token in X-Vault-Token; the API server's (the program's proxy account's) in
    # Authorization: both secret.
    assert is_secret(provider.inputs["token"]) and props["token"] == token
    headers = json.loads(props["headers"])  # provider config arrives JSON-encoded
    assert headers == [{"name": "Authorization", "value": f"Bearer {SA_TOKEN}"}]
    assert is_secret(provider.inputs["headers"])
    assert "skipTlsVerify" not in props
    ca_file = Path(props["caCertFile"])
    assert ca_file.is_absolute() and ca_file.read_text() == CA_PEM  # the cluster CA
    # The provider is used only once the account may proxy: destroy deletes it after them.
    assert {"store-deployer", "store-deployer-token"} <= depends_on(provider)


def _entra_token_calls(run: StackRun) -> list[dict]:
    return [a for t, a in run.calls if t == "azure-native:authorization:getClientToken"]


def test_the_vault_provider_keeps_nothing_temporary(
    dev: StackRun, ha: StackRun, external: StackRun
) -> None:
    """`refresh` and `destroy` configure the provider from its stored inputs, on another day
    and maybe another machine: no temporary file (nor a client key written for it) there."""
    temporary = tempfile.gettempdir()
    for run in (dev, ha, external):
        props = run.one("pulumi:providers:vault").props
        assert "clientAuth" not in props
        assert not props.get("caCertFile", "").startswith(temporary), props["caCertFile"]


def test_the_proxy_account_may_only_proxy_to_vault(dev: StackRun, ha: StackRun) -> None:
    for run in (dev, ha):
        role = run.k8s("rbac.authorization.k8s.io/v1:Role", "vault-deployer").props
        assert role["metadata"]["namespace"] == "vault"
        assert role["rules"] == [
            {
                "apiGroups": [""],
                "resources": ["services/proxy"],
                "verbs": ["get", "create", "update", "patch", "delete"],
            }
        ]
        binding = run.k8s("rbac.authorization.k8s.io/v1:RoleBinding", "vault-deployer").props
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "vault-deployer", "namespace": "vault"}
        ]
        token = run.k8s("core/v1:Secret", "vault-deployer-token").props
        assert token["type"] == "kubernetes.io/service-account-token"
        assert token["metadata"]["annotations"] == {
            "kubernetes.io/service-account.name": "vault-deployer"
        }


def test_dev_vault_is_configured_through_the_api_server(dev: StackRun) -> None:
    _reaches_vault_through_the_api_server(dev, "http:vault", "generated-store-root-token")


def test_ha_vault_is_configured_through_the_api_server(ha: StackRun) -> None:
    _reaches_vault_through_the_api_server(ha, "https:vault-active", "h4-root")


def test_no_short_lived_token_reaches_the_vault_provider(
    dev: StackRun, ha: StackRun, ha_new: StackRun, external: StackRun
) -> None:
    """The deployer's Entra ID token lasts about an hour: kept in the provider's stored
    configuration, a `refresh` or `destroy` a day later would send it expired (401)."""
    for run in (dev, ha, ha_new, external):
        assert _entra_token_calls(run) == []
        assert ENTRA_TOKEN not in json.dumps([r.props for r in run.resources])


def test_vault_resources_use_the_explicit_provider(dev: StackRun, ha: StackRun) -> None:
    # Auth backend, its config, policy, role and a KV entry per secret (the user's and the
    # program's six); ha adds the audit device, the KV mount, and the snapshot job's policy
    # and role.
    for run, count in ((dev, 10), (ha, 14)):
        provider = run.one("pulumi:providers:vault")
        vault_resources = [r for r in run.resources if r.type.startswith("vault:")]
        assert len(vault_resources) == count
        for resource in vault_resources:
            assert provider.name in resource.provider, resource.name


def kv_entries(run: StackRun) -> dict[str, dict]:
    """The KV entries by secret name: their recorded props, the value parsed."""
    found = {}
    for entry in run.of_type("vault:kv/secretV2:SecretV2"):
        assert is_secret(entry.inputs["dataJson"]), entry.name
        found[entry.props["name"].rsplit("/", 1)[1]] = {
            **entry.props,
            "data": json.loads(entry.props["dataJson"]),
            "entry": entry,
        }
    return found


def test_each_secret_has_a_kv_entry_of_its_own(dev: StackRun) -> None:
    entries = kv_entries(dev)
    assert set(entries) == {"client-secret", *MANAGED_SECRETS}
    for name, entry in entries.items():
        assert entry["mount"] == "secret" and entry["name"] == f"aidbox/client/{name}"
        assert set(entry["data"]) == {"value"}
        assert entry["deleteAllVersions"] is True  # removed: nothing of it stays in Vault
    values = {name: entry["data"]["value"] for name, entry in entries.items()}
    assert values == {
        "client-secret": "generated-store-client-secret-value",
        "aidbox-auth-keys": values["aidbox-auth-keys"],
        "aidbox-db-password": "generated-generated-db-password",
        "aidbox-db-app-password": "generated-generated-db-app-password",
    }
    # The key pair and the HS256 secret, one entry (tests/test_stack_signing_keys.py).
    keys = key_bundle.parse(values["aidbox-auth-keys"])
    assert keys.private_key.startswith(PEM_PRIVATE_HEAD)
    assert keys.public_key.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert keys.secret == "generated-generated-auth-secret"


def test_a_secret_added_later_gets_its_own_entry_and_object(external: StackRun) -> None:
    """With one shared entry seeded once (ignore_changes), a secret added later never reached
    Vault, and vault-csi-provider failed every pod's mount on the missing key."""
    added = run_stack(
        {**EXTERNAL, "secrets": {**EXTERNAL["secrets"], "api-key": {"scope": "Client"}}},
        secret_keys=["vault"],
    )
    before, after = kv_entries(external), kv_entries(added)
    assert set(after) - set(before) == {"api-key"}
    for name in before:  # the others' entries are the same resources, unchanged
        assert after[name]["entry"].name == before[name]["entry"].name
        assert after[name]["dataJson"] == before[name]["dataJson"]
    objects = yaml.safe_load(added.spc().props["spec"]["parameters"]["objects"])
    assert {
        "objectName": "api-key",
        "secretPath": "secret/data/aidbox/client/api-key",
        "secretKey": "value",
    } in objects


def test_dev_kv_entries_are_restored_by_refresh(dev: StackRun) -> None:
    """A dev Vault forgets everything on a pod restart: `pulumi up --refresh` must read each
    entry (gone), see the difference and write the seed again."""
    for entry in kv_entries(dev).values():
        assert not entry.get("disableRead")
        assert entry["entry"].opts is not None and not entry["entry"].opts.ignore_changes


def test_ha_and_external_kv_entries_survive_rotation(ha: StackRun, external: StackRun) -> None:
    """`vault kv put`/`patch` rotations survive `pulumi up --refresh`: never read back, never
    rewritten."""
    for run in (ha, external):
        for entry in kv_entries(run).values():
            assert entry["disableRead"] is True
            assert entry["entry"].opts is not None
            assert entry["entry"].opts.ignore_changes == ["dataJson"]


PRIVATE = "-----BEGIN RSA PRIVATE KEY-----\nR\n-----END RSA PRIVATE KEY-----"


def test_an_older_stacks_single_entry_seeds_the_new_entries() -> None:
    """`vault.seedFromCombinedEntry`: one `up` of a stack from before the per-secret entries
    reads the single entry (rotated values included) and seeds each new entry from it; a
    secret it lacks gets its own seed."""
    combined = {
        "client-secret": "rotated-by-vault-kv-patch",
        "aidbox-db-password": "rotated-db",
        # The keys it signs with now: they seed the key bundle, so sessions survive.
        "aidbox-auth-private-key": PRIVATE,
        "aidbox-auth-public-key": "-----BEGIN PUBLIC KEY-----\nP\n-----END PUBLIC KEY-----\n",
        "aidbox-auth-secret": "rotated-hs256",
    }
    run = run_stack(
        {**EXTERNAL, "vault": {**EXTERNAL["vault"], "seedFromCombinedEntry": True}},
        secret_keys=["vault"],
        mocks=Mocks(vault_kv={"secret/aidbox/client": combined}),
    )
    entries = kv_entries(run)
    assert entries["client-secret"]["data"] == {"value": "rotated-by-vault-kv-patch"}
    assert entries["aidbox-db-password"]["data"] == {"value": "rotated-db"}
    keys = key_bundle.parse(entries["aidbox-auth-keys"]["data"]["value"])
    assert keys.private_key == PRIVATE
    assert keys.secret == "rotated-hs256"
    assert entries["aidbox-db-app-password"]["data"] == {
        "value": "generated-generated-db-app-password"
    }
    reads = [a for t, a in run.calls if t == "vault:kv/getSecretV2:getSecretV2"]
    assert [(a["mount"], a["name"]) for a in reads] == [("secret", "aidbox/client")]


def test_configured_value_is_used() -> None:
    assert VAULT_TUNED["secrets"]["client-secret"]["value"] == "v4lue"
    run = run_stack(VAULT_TUNED, secret_keys=VAULT_TUNED_SECRETS)  # a shared run
    entries = kv_entries(run)
    assert entries["client-secret"]["data"] == {"value": "v4lue"}
    assert set(entries) == {"client-secret", *MANAGED_SECRETS}
    for resource in run.resources:
        assert not [s for s in plain_strings(resource.inputs) if "v4lue" in s], resource.name


def test_kubernetes_auth_policy_and_role_agree(dev: StackRun) -> None:
    backend = dev.one("vault:index/authBackend:AuthBackend").props
    assert backend == {"type": "kubernetes", "path": "kubernetes"}
    config = dev.one("vault:kubernetes/authBackendConfig:AuthBackendConfig").props
    assert config["kubernetesHost"] == "https://kubernetes.default.svc"
    assert config["backend"] == "kubernetes"
    policy = dev.named("store-policy").props
    assert policy["name"] == "aidbox"
    # Read on each of Aidbox's entries, exactly: not the database administrator's.
    assert policy["policy"] == "".join(
        f'path "secret/data/aidbox/client/{name}" {{\n  capabilities = ["read"]\n}}\n'
        for name in ("client-secret", "aidbox-auth-keys", "aidbox-db-app-password")
    )
    role = dev.named("store-role")
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
    spc = dev.spc()
    spec = spc.props["spec"]
    assert spec["provider"] == "vault"
    params = spec["parameters"]
    assert all(isinstance(v, str) for v in params.values())
    role = dev.named("store-role").props
    assert params["roleName"] == role["roleName"]
    assert params["vaultAddress"] == "http://vault.vault:8200"
    assert params["audience"] == role["audience"] == "vault"
    assert "vaultKubernetesMountPath" not in params  # the default mount
    objects = yaml.safe_load(params["objects"])
    assert objects == [
        {
            "objectName": name,
            "secretPath": f"secret/data/aidbox/client/{name}",
            "secretKey": "value",
        }
        for name in ("client-secret", "aidbox-auth-keys", "aidbox-db-app-password")
    ]
    policy = dev.named("store-policy").props["policy"]
    assert all(f'path "{o["secretPath"]}"' in policy for o in objects)
    entries = {f"store-kv-{name}" for name in ("client-secret", *MANAGED_SECRETS)}
    assert {"csi-driver", "store-chart", "store-role", *entries} <= depends_on(spc)


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
    provider = external.one("pulumi:providers:vault")
    assert provider.props["address"] == "https://vault.example:8200"
    assert "headers" not in provider.props  # not through the API server
    assert is_secret(provider.inputs["token"]) and provider.props["token"] == "t0ken"
    params = external.spc().props["spec"]["parameters"]
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
    assert VAULT_TUNED["vault"] == {
        "mode": "dev",
        "authMountPath": "aks",
        "secretPath": "apps/aidbox",
        "policyName": "aidbox-read",
        "roleName": "aidbox-app",
    }
    run = run_stack(VAULT_TUNED, secret_keys=VAULT_TUNED_SECRETS)  # a shared run
    params = run.spc().props["spec"]["parameters"]
    assert params["vaultKubernetesMountPath"] == "aks"
    assert params["roleName"] == "aidbox-app"
    assert (
        yaml.safe_load(params["objects"])[0]["secretPath"]
        == "secret/data/apps/aidbox/client-secret"
    )
    role = run.named("store-role").props
    assert role["backend"] == "aks" and role["tokenPolicies"] == ["aidbox-read"]
    policy = run.named("store-policy").props["policy"]
    assert policy.startswith('path "secret/data/apps/aidbox/client-secret"')
    database = run.named("store-role-database").props
    assert database["roleName"] == "aidbox-app-database"
    assert database["tokenPolicies"] == ["aidbox-read-database"]
    assert kv_entries(run)["client-secret"]["name"] == "apps/aidbox/client-secret"


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
    assert azure.spc().props["metadata"] == dev.spc().props["metadata"]


def test_external_vault_private_ca_reaches_deployer_and_csi_provider() -> None:
    run = run_stack(VAULT_EXTERNAL_CA, secret_keys=["vault"])
    assert run.one("pulumi:providers:vault").props["caCertFile"] == EXTERNAL_CA
    config_map = run.k8s("core/v1:ConfigMap", "vault-ca")
    assert config_map.props["metadata"]["namespace"] == "vault"
    assert config_map.props["data"] == {"ca.crt": Path(EXTERNAL_CA).read_text()}
    release = run.named("store-chart")
    csi = release.props["values"]["csi"]
    assert csi["volumes"] == [{"name": "vault-ca", "configMap": {"name": "vault-ca"}}]
    assert csi["agent"]["extraArgs"] == ["-ca-cert=/vault/ca/ca.crt"]
    assert "store-ca" in depends_on(release)
    params = run.spc().props["spec"]["parameters"]
    assert params["vaultCACertPath"] == "/vault/ca/ca.crt"
    assert (
        "vaultCACertPath"
        not in run_stack(EXTERNAL, secret_keys=["vault"]).spc().props["spec"]["parameters"]
    )


def test_ha_vault_unseals_with_an_azure_key_through_workload_identity(ha: StackRun) -> None:
    vault = ha.one("azure-native:keyvault:Vault").props
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert vault["properties"]["enablePurgeProtection"] is True
    key = ha.one("azure-native:keyvault:Key").props
    assert key["keyName"] == "vault-unseal" and key["vaultName"] == vault["vaultName"]
    assert key["properties"]["keyOps"] == ["wrapKey", "unwrapKey"]
    federation = ha.named("store-unseal-federation").props
    assert federation["subject"] == "system:serviceaccount:vault:vault"
    grant = ha.named("store-unseal-grant").props
    assert grant["roleDefinitionId"].endswith("e147488a-f6f5-4113-8e2d-b22465e65bf6")
    assert grant["scope"].endswith(f"/vaults/{vault['vaultName']}")
    cluster = ha.one("azure-native:containerservice:ManagedCluster").props
    assert cluster["securityProfile"]["workloadIdentity"]["enabled"] is True
    values = ha.named("store-chart").props["values"]
    server = values["server"]
    assert server["serviceAccount"]["annotations"] == {
        "azure.workload.identity/client-id": "uami-client-id"
    }
    config = server["ha"]["raft"]["config"]
    assert f'vault_name = "{vault["vaultName"]}"' in config
    assert ha.output("vaultUnsealKeyVault") == vault["vaultName"]
    release = ha.named("store-chart")
    assert {"store-unseal-key", "store-unseal-federation", "store-unseal-grant"} <= depends_on(
        release
    )
    assert release.props.get("skipAwait") is True  # sealed until its one-time init


def test_ha_vault_tls(ha: StackRun) -> None:
    tls_secret = ha.k8s("core/v1:Secret", "vault-server-tls")
    assert tls_secret.props["type"] == "kubernetes.io/tls"
    assert set(tls_secret.props["stringData"]) == {"tls.crt", "tls.key", "ca.crt"}
    assert is_secret(tls_secret.inputs["stringData"])
    ca = ha.k8s("core/v1:ConfigMap", "vault-ca").props
    assert ca["data"] == {"ca.crt": VAULT_CA_PEM}  # the CA only, never the key
    request = ha.one("tls:index/certRequest:CertRequest").props
    assert {"vault.vault.svc", "vault-0.vault-internal", "vault-2.vault-internal"} <= set(
        request["dnsNames"]
    )
    params = ha.spc().props["spec"]["parameters"]
    assert params["vaultAddress"] == "https://vault.vault.svc:8200"
    assert params["vaultCACertPath"] == "/vault/ca/ca.crt"
    release = ha.named("store-chart")
    assert {"store-server-tls", "store-ca"} <= depends_on(release)


def test_ha_vault_mounts_its_kv_engine_before_the_secret(ha: StackRun, dev: StackRun) -> None:
    mount = ha.one("vault:index/mount:Mount").props
    assert (mount["path"], mount["type"], mount["options"]) == ("secret", "kv", {"version": "2"})
    for entry in ha.of_type("vault:kv/secretV2:SecretV2"):
        assert "store-kv-mount" in depends_on(entry), entry.name
    assert not dev.of_type("vault:index/mount:Mount")  # the dev server mounts secret/ itself


def test_nothing_talks_to_vault_while_its_audit_device_is_enabled(ha: StackRun) -> None:
    """Vault 1.21 answers 500 to requests made while an audit device is being enabled (seen
    with the real server in the engine run's stand-in self-check)."""
    for resource in ha.resources:
        if resource.custom and resource.type.startswith("vault:") and "Audit" not in resource.type:
            assert "store-audit" in depends_on(resource), resource.name


def test_ha_vault_has_an_audit_device(ha: StackRun) -> None:
    audit = ha.one("vault:index/audit:Audit").props
    assert audit["type"] == "file" and audit["options"] == {"file_path": "stdout"}


def test_ha_vault_before_init_is_installed_but_not_configured(ha_new: StackRun) -> None:
    """No token yet: Vault and its Azure pieces are installed; nothing talks to Vault, and the
    SecretProviderClass and Aidbox wait for the `pulumi up` after the one-time init."""
    assert ha_new.named("store-chart")
    assert ha_new.one("azure-native:keyvault:Key")
    assert not [
        r for r in ha_new.resources if r.type.startswith(("vault:", "pulumi:providers:vault"))
    ]
    assert not ha_new.of_type(SPC)
    assert not ha_new.of_type("kubernetes:apps/v1:Deployment") or all(
        r.props["metadata"]["name"] != "aidbox"
        for r in ha_new.of_type("kubernetes:apps/v1:Deployment")
    )
    assert "aidboxUrl" not in ha_new.outputs
    assert ha_new.output("vaultMode") == "ha"
    assert ha_new.output("vaultAddress") == f"{API}/api/v1/namespaces/vault/services/" + (
        "https:vault-active:8200/proxy"
    )


def test_no_root_token_in_plain_text_anywhere(dev: StackRun, ha: StackRun) -> None:
    for run, token in ((dev, "generated-store-root-token"), (ha, "h4-root")):
        for resource in run.resources:
            assert not [s for s in plain_strings(resource.inputs) if token in s], resource.name
        for name, captured in run.outputs.items():
            assert token not in json.dumps(captured.value, default=str), name
