"""The whole program with the Azure Key Vault store, under mocks."""

from __future__ import annotations

import json

import cases
import pytest
import yaml
from harness import (
    AZURE_DEV,
    AZURE_TUNED,
    AZURE_TUNED_SECRETS,
    DEPLOYER,
    KUBELET_CLIENT,
    KUBELET_OBJECT,
    SUBSCRIPTION,
    TENANT,
    VAULT_TUNED,
    VAULT_TUNED_SECRETS,
    StackRun,
    depends_on,
    is_secret,
    plain_strings,
    run_stack,
)

from components import naming
from components.aidbox import render
from components.settings.managed import AUTH_KEYS, DB_APP_PASSWORD, DB_PASSWORD

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "azure-native:authorization:RoleAssignment"


# One non-default configuration (shared with other files) serves the tests of single settings
# (each looks only at what its own key drives), so that they share one program run.
TUNED = AZURE_TUNED


@pytest.fixture(scope="module")
def run() -> StackRun:
    return run_stack(AZURE_DEV)


def tuned() -> StackRun:
    return run_stack(TUNED, secret_keys=AZURE_TUNED_SECRETS)


def deployment(run: StackRun) -> dict:
    return run.k8s("apps/v1:Deployment", "aidbox").props


def test_registers_the_azure_path_and_nothing_of_vault(run: StackRun) -> None:
    types = run.types()
    for expected in (
        "azure-native:resources:ResourceGroup",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Secret",
        "azure-native:containerservice:ManagedCluster",
        ROLE,
        RELEASE,
        SPC,
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
    ):
        assert expected in types
    assert not [t for t in types if t.startswith("vault:")]


def test_components_have_type_tokens_and_own_their_children(run: StackRun) -> None:
    components = {r.name: r.type for r in run.resources if not r.custom}
    assert components == {
        "platform": "aidbox-secrets:azure:Platform",
        "network": "aidbox-secrets:azure:Network",
        "monitoring": "aidbox-secrets:azure:Monitoring",
        "aks": "aidbox-secrets:azure:AksCluster",
        "prometheus": "aidbox-secrets:kubernetes:PrometheusScrapeSettings",
        "netpol": "aidbox-secrets:kubernetes:NetworkPolicies",
        "csi": "aidbox-secrets:csi:CsiDriver",
        "generated": "aidbox-secrets:aidbox:GeneratedSecrets",
        "store": "aidbox-secrets:stores:AzureKeyVaultStore",
        "store-kv": "aidbox-secrets:azure:KeyVault",
        "spc": "aidbox-secrets:csi:SecretProviderClass",
        "aidbox-account": "aidbox-secrets:aidbox:ServiceAccount",
        "spc-database": "aidbox-secrets:csi:SecretProviderClass",
        "database-account": "aidbox-secrets:aidbox:ServiceAccount",
        "postgres": "aidbox-secrets:aidbox:Postgres",
        "aidbox-db-role": "aidbox-secrets:aidbox:DatabaseRole",
        "aidbox": "aidbox-secrets:aidbox:Aidbox",
    }
    for resource in run.resources:
        if resource.custom:
            owner = resource.parent.rsplit("::", 1)[-1]
            assert owner in components, f"{resource.name} is not inside a component"
            if resource.name in ("aidbox-service-account", "database-service-account"):
                continue  # Aidbox's keeps its name from before it had its own component
            assert resource.name.startswith(owner), f"{resource.name} not named from {owner}"
    assert run.named("store-kv-vault").parent.endswith("aidbox-secrets:azure:KeyVault::store-kv")
    assert run.named("aidbox-deployment").parent.endswith("aidbox-secrets:aidbox:Aidbox::aidbox")


def test_key_vault_is_rbac_with_soft_delete_and_purge_protection(run: StackRun) -> None:
    vault = run.one("azure-native:keyvault:Vault").props
    scope = naming.deployment_scope(SUBSCRIPTION, "rg-aidbox-secrets-dev")
    expected_name = naming.key_vault_name("aidbox-secrets", "dev", scope)
    assert vault["vaultName"] == expected_name
    props = vault["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert props["tenantId"] == TENANT
    assert vault["resourceGroupName"] == "rg-aidbox-secrets-dev"


def test_purge_protection_can_be_turned_off_for_dev() -> None:
    run = tuned()
    props = run.one("azure-native:keyvault:Vault").props["properties"]
    assert "enablePurgeProtection" not in props  # Azure refuses false: it is omitted


def test_vault_secret_is_generated_secret_and_survives_rotation(run: StackRun) -> None:
    secret = run.named("store-kv-client-secret")
    assert secret.props["secretName"] == "client-secret"
    assert secret.props["vaultName"] == run.one("azure-native:keyvault:Vault").props["vaultName"]
    assert is_secret(secret.inputs["properties"]["value"]) or is_secret(secret.inputs["properties"])
    assert secret.props["properties"]["value"] == "generated-store-kv-client-secret-value"
    # Rotation in the vault is not undone: Pulumi never updates the secret after creation.
    assert secret.opts is not None and secret.opts.ignore_changes == ["properties"]


def test_a_removed_secret_stays_in_the_vault(run: StackRun) -> None:
    """Removing a secret from the config must not delete it: a deleted secret is held by soft
    delete (and purge protection) under its name, so adding it back would fail with a
    Conflict for up to 90 days; and the provider deletes through the data plane, which the
    vault's firewall closes to a deployer outside `keyVault.allowedRanges`."""
    for secret in run.of_type("azure-native:keyvault:Secret"):
        assert secret.opts is not None and secret.opts.retain_on_delete is True, secret.name


def test_configured_secret_value_is_used_and_stays_secret() -> None:
    assert TUNED["secrets"]["client-secret"]["value"] == "s3cr3t"
    run = tuned()
    secret = run.named("store-kv-client-secret")
    assert secret.props["properties"]["value"] == "s3cr3t"
    assert "random:index/randomPassword:RandomPassword" not in {
        r.type for r in run.resources if r.name.startswith("store")
    }
    for resource in run.resources:
        assert not [s for s in plain_strings(resource.inputs) if "s3cr3t" in s], resource.name
    for name, output in run.outputs.items():
        assert "s3cr3t" not in json.dumps(output.value, default=str), name


def test_cluster_has_oidc_and_the_configured_pool(run: StackRun) -> None:
    cluster = run.one("azure-native:containerservice:ManagedCluster").props
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["identity"] == {"type": "SystemAssigned"}
    assert cluster["resourceName"] == "aks-aidbox-secrets-dev"
    pool = cluster["agentPoolProfiles"][0]
    assert (pool["count"], pool["vmSize"], pool["mode"]) == (3, "Standard_D4s_v5", "System")
    assert cluster["kubernetesVersion"] == "1.34"
    assert "azureKeyvaultSecretsProvider" not in cluster["addonProfiles"]


def test_kubelet_identity_reads_the_vault_only(run: StackRun) -> None:
    grant = run.named("store-kv-kubelet").props
    vault = run.one("azure-native:keyvault:Vault").props["vaultName"]
    assert grant["principalId"] == KUBELET_OBJECT
    assert grant["principalType"] == "ServicePrincipal"
    assert grant["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        "4633458b-17de-408a-b874-0445c86b69e6"
    )
    assert grant["scope"] == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-aidbox-secrets-dev"
        f"/providers/Microsoft.KeyVault/vaults/{vault}"
    )
    assert grant["roleAssignmentName"] == naming.role_assignment_name(
        vault, "4633458b-17de-408a-b874-0445c86b69e6", "kubelet"
    )
    assert run.named("store-kv-kubelet").opts.delete_before_replace is True


def test_only_the_reader_is_granted_by_default(run: StackRun) -> None:
    assert [r.name for r in run.of_type(ROLE)] == ["store-kv-kubelet"]
    assert "/providers/Microsoft.KeyVault/vaults/" in run.named("store-kv-kubelet").props["scope"]


def test_secrets_officers_are_granted_on_the_vault_only() -> None:
    officer = AZURE_TUNED["keyVault"]["secretsOfficers"][0]
    run = tuned()
    grant = run.named(f"store-kv-officer-{officer['objectId']}").props
    assert (grant["principalId"], grant["principalType"]) == (officer["objectId"], "User")
    assert grant["roleDefinitionId"].endswith("b86a8fe4-44ce-4948-aee5-eccb2c155cd7")
    assert grant["scope"] == run.named("store-kv-kubelet").props["scope"]
    assert DEPLOYER not in repr(grant)


def test_csi_driver_and_azure_provider_releases(run: StackRun) -> None:
    driver = run.named("csi-driver").props
    assert driver["chart"] == "./charts/secrets-store-csi-driver-1.6.0.tgz"
    assert driver["version"] == "1.6.0" and "repositoryOpts" not in driver
    assert driver["namespace"] == "kube-system"
    assert (driver["timeout"], driver["atomic"], driver["cleanupOnFail"]) == (600, True, True)
    # Nothing is mirrored into a Kubernetes Secret (Aidbox's start script reads the files), so
    # the driver gets no RBAC on Secrets.
    assert driver["values"]["syncSecret"] == {"enabled": False}
    assert driver["values"]["enableSecretRotation"] is True
    assert driver["values"]["rotationPollInterval"] == "30s"
    provider = run.named("store-provider").props
    assert provider["chart"] == "./charts/csi-secrets-store-provider-azure-1.8.2.tgz"
    assert provider["version"] == "1.8.2" and "repositoryOpts" not in provider
    assert provider["namespace"] == "kube-system"
    assert provider["values"]["secrets-store-csi-driver"] == {"install": False}
    k8s_provider = run.one("pulumi:providers:kubernetes")
    for release in (run.named("csi-driver"), run.named("store-provider")):
        assert release.provider.startswith(k8s_provider.parent.split("::")[0])
        assert k8s_provider.name in release.provider


def test_driver_syncs_secrets_only_when_a_secret_is_mirrored() -> None:
    case = cases.CASES["azure-synced"]  # a shared run
    assert case.config["aidbox-secrets:secrets"]["client-secret"]["kubernetesSecret"]
    run = cases.run(case.id)
    assert run.named("csi-driver").props["values"]["syncSecret"] == {"enabled": True}


def test_rotation_interval_comes_from_settings() -> None:
    run = tuned()
    assert run.named("csi-driver").props["values"]["rotationPollInterval"] == "2m"


def test_secret_provider_class(run: StackRun) -> None:
    spc = run.spc()
    props = spc.props
    assert props["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert props["kind"] == "SecretProviderClass"
    assert props["metadata"] == {
        "name": "aidbox-secrets",
        "namespace": "default",
        "labels": {
            "app.kubernetes.io/part-of": "aidbox-secrets",
            "aidbox-secrets/environment": "non-production",
        },
    }
    assert props["spec"]["provider"] == "azure"
    params = props["spec"]["parameters"]
    assert all(isinstance(v, str) for v in params.values())
    vault = run.one("azure-native:keyvault:Vault").props["vaultName"]
    assert params["keyvaultName"] == vault
    assert params["tenantID"] == TENANT  # `tenantId` is deprecated by the provider
    assert "tenantId" not in params
    assert params["cloudName"] == "AzurePublicCloud"
    assert params["useVMManagedIdentity"] == "true"
    assert params["userAssignedIdentityID"] == KUBELET_CLIENT
    objects = yaml.safe_load(params["objects"])["array"]
    # Aidbox's: the user's secrets, the key bundle, its role's password (not the
    # administrator's, which only the database's class lists).
    assert [yaml.safe_load(o) for o in objects] == [
        {"objectName": name, "objectType": "secret"}
        for name in ("client-secret", AUTH_KEYS, DB_APP_PASSWORD)
    ]
    database = yaml.safe_load(run.spc("aidbox-db-secrets").props["spec"]["parameters"]["objects"])
    assert [yaml.safe_load(o)["objectName"] for o in database["array"]] == [
        DB_PASSWORD,
        DB_APP_PASSWORD,
    ]
    assert "secretObjects" not in props["spec"]  # nothing mirrored
    # Registered after the driver release that installs its CRD, and after the read grant.
    assert {"csi-driver", "store-kv-kubelet", "store-provider"} <= depends_on(spc)


def test_aidbox_deployment_mounts_the_secrets_and_points_at_them(run: StackRun) -> None:
    spec = deployment(run)["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "healthsamurai/aidboxone:2605"
    assert pod["serviceAccountName"] == "aidbox"
    volume = next(v for v in pod["volumes"] if "csi" in v)
    assert volume["csi"] == {
        "driver": "secrets-store.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "aidbox-secrets"},
    }
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount == {"name": volume["name"], "mountPath": "/run/azure-secrets", "readOnly": True}
    env = {e["name"]: e for e in container["env"]}
    assert env["BOX_VAULT_CONFIG"]["value"] == "/etc/aidbox/vault-config.json"
    assert env["BOX_INIT_BUNDLE"]["value"] == "file:///etc/aidbox/init-bundle.json"
    assert env["BOX_DB_HOST"]["value"] == "aidbox-db.default.svc.cluster.local"
    # From the mounted file, by the start script (no Kubernetes Secret holds it).
    assert "BOX_DB_PASSWORD" not in env
    assert (
        '_read /run/azure-secrets/aidbox-db-app-password\nexport BOX_DB_PASSWORD="$_value"'
        in container["command"][2]
    )
    assert "BOX_LICENSE" not in env  # not configured here
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
        assert container[probe]["timeoutSeconds"] == 5
    assert set(container["resources"]) == {"requests", "limits"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    config_mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert config_mount["mountPath"] == "/etc/aidbox" and config_mount["readOnly"] is True
    assert {"spc", "aidbox-config", "aidbox-credentials"} <= depends_on(
        run.k8s("apps/v1:Deployment", "aidbox")
    )


def test_config_map_holds_the_vault_config_and_bundle(run: StackRun) -> None:
    data = run.k8s("core/v1:ConfigMap", "aidbox-config").props["data"]
    assert json.loads(data["vault-config.json"]) == {
        "secret": {
            "client-secret": {
                "path": "/run/azure-secrets/client-secret",
                "scope": {"resource_type": "Client", "id": "basic"},
            }
        }
    }
    bundle = json.loads(data["init-bundle.json"])
    assert bundle["type"] == "transaction"
    assert bundle["entry"][0]["request"] == {
        "method": "POST",
        "url": "Client",
        "ifNoneExist": "_id=basic",
    }
    annotation = deployment(run)["spec"]["template"]["metadata"]["annotations"]
    assert annotation["checksum/aidbox-config"] == render.checksum(*sorted(data.values()))


def test_changed_vault_config_rolls_the_pods(run: StackRun) -> None:
    assert TUNED["secrets"]["client-secret"]["scope"] == "Client/other"
    other = tuned()

    def checksum(r: StackRun) -> str:
        return deployment(r)["spec"]["template"]["metadata"]["annotations"][
            "checksum/aidbox-config"
        ]

    assert checksum(run) != checksum(other)

    def data(r: StackRun) -> dict[str, str]:
        return r.k8s("core/v1:ConfigMap", "aidbox-config").props["data"]

    # What Aidbox reads differs only by the scope: that is what changed the checksum.
    assert data(run) != data(other)

    def basic(text: str) -> str:
        return (
            text.replace("Client/other", "Client/basic")
            .replace('"other"', '"basic"')
            .replace("_id=other", "_id=basic")
        )

    assert data(run) == {k: basic(v) for k, v in data(other).items()}


def test_credentials_are_generated_into_a_secret(run: StackRun) -> None:
    credentials = run.k8s("core/v1:Secret", "aidbox")
    assert set(credentials.props["stringData"]) == {"admin-password", "root-client-secret"}
    assert is_secret(credentials.inputs["stringData"])


def test_license_from_secret_config_reaches_the_pod_through_the_secret() -> None:
    run = tuned()
    credentials = run.k8s("core/v1:Secret", "aidbox")
    assert credentials.props["stringData"]["license"] == TUNED["aidboxLicense"] == "{not-json"
    assert is_secret(credentials.inputs["stringData"])
    env = {
        e["name"]: e for e in deployment(run)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["BOX_LICENSE"]["valueFrom"]["secretKeyRef"] == {"name": "aidbox", "key": "license"}


def test_postgres_runs_in_cluster_with_a_volume(run: StackRun) -> None:
    db = run.k8s("apps/v1:StatefulSet", "aidbox-db").props["spec"]
    assert db["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    pod = db["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    # The password comes from the store, through the database's own class and account: no
    # Secret.
    assert "POSTGRES_PASSWORD" not in env
    assert env["POSTGRES_PASSWORD_FILE"]["value"] == "/run/azure-secrets/aidbox-db-password"
    assert pod["serviceAccountName"] == "aidbox-db"
    volume = next(v for v in pod["volumes"] if "csi" in v)
    assert volume["csi"]["volumeAttributes"] == {"secretProviderClass": "aidbox-db-secrets"}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert mount["mountPath"] == "/run/azure-secrets"
    assert not run.of_type("kubernetes:core/v1:Secret") or all(
        s.props["metadata"]["name"] != "aidbox-db" for s in run.of_type("kubernetes:core/v1:Secret")
    )
    assert run.k8s("core/v1:Service", "aidbox-db").props["spec"]["ports"][0]["port"] == 5432
    statefulset = run.k8s("apps/v1:StatefulSet", "aidbox-db")
    assert {"spc-database", "database-service-account"} <= depends_on(statefulset)


def test_no_secret_value_in_plain_text(run: StackRun) -> None:
    generated = [r.name for r in run.of_type("random:index/randomPassword:RandomPassword")]
    # client secret, db administrator, Aidbox's db role, admin, root client, HS256 secret
    assert len(generated) == 6
    for resource in run.resources:
        leaked = [s for s in plain_strings(resource.inputs) if "generated-" in s]
        assert not leaked, f"{resource.type} {resource.name} holds {leaked}"


def test_stack_outputs(run: StackRun) -> None:
    vault = run.one("azure-native:keyvault:Vault").props["vaultName"]
    assert run.output("secretStore") == "azure"
    assert run.output("resourceGroupName") == "rg-aidbox-secrets-dev"
    assert run.output("keyVaultName") == vault
    assert run.output("keyVaultUri") == f"https://{vault}.vault.azure.net/"
    assert run.output("clusterName") == "aks-aidbox-secrets-dev"
    assert run.output("namespace") == "default"
    assert run.output("aidboxService") == "aidbox"
    assert run.output("aidboxUrl") == "http://aidbox.default.svc.cluster.local:8080"
    assert run.output("secrets") == {"client-secret": "/run/azure-secrets/client-secret"}
    assert run.output("getCredentialsCommand") == (
        "az aks get-credentials --resource-group rg-aidbox-secrets-dev "
        "--name aks-aidbox-secrets-dev --overwrite-existing "
        "&& kubelogin convert-kubeconfig --login azurecli"
    )
    assert "kubeconfig" not in run.outputs
    # Nothing in the outputs is secret, because nothing secret is exported.
    assert not [k for k, v in run.outputs.items() if v.secret]


def test_custom_namespace_is_created_and_used() -> None:
    run = tuned()
    assert TUNED["namespace"] == "clinic"
    assert run.one("kubernetes:core/v1:Namespace").props["metadata"]["name"] == "clinic"
    assert run.spc().props["metadata"]["namespace"] == "clinic"
    assert run.k8s("apps/v1:Deployment", "aidbox").props["metadata"]["namespace"] == "clinic"
    assert run.output("aidboxUrl") == "http://aidbox.clinic.svc.cluster.local:8080"


# Shared runs whose license looks like JSON.
LICENSED = {
    AZURE_TUNED["aidboxLicense"]: (AZURE_TUNED, AZURE_TUNED_SECRETS),
    VAULT_TUNED["aidboxLicense"]: (VAULT_TUNED, VAULT_TUNED_SECRETS),
}


@pytest.mark.parametrize("license", ["{not-json", '{"a": 1}'])
def test_a_string_key_is_read_as_written_even_when_it_looks_like_json(license: str) -> None:
    config, secret_keys = LICENSED[license]
    assert "aidboxLicense" in secret_keys
    run = run_stack(config, secret_keys=secret_keys)
    credentials = run.k8s("core/v1:Secret", "aidbox")
    assert credentials.props["stringData"]["license"] == license
