"""An `ha` Vault's backups and metrics (issue 19, Vault item 11): the snapshot CronJob (pure, and
as declared), its Vault policy and role, the storage account it uploads to through workload
identity, and the PodMonitor that scrapes every Vault pod."""

from __future__ import annotations

from typing import Any

from harness import (
    SUBSCRIPTION,
    UAMI_CLIENT,
    VAULT_CA_PEM,
    VAULT_HA,
    VAULT_HA_INIT,
    VAULT_HA_PRODUCTION,
    VAULT_HA_PRODUCTION_SECRETS,
    StackRun,
    run_stack,
)
from test_policy import ROLE_ASSIGNMENT, only, role_assignment, rules, run

from components import versions
from components.azure import roles
from components.azure.snapshot_storage import CONTAINER, account_properties, lifecycle_rule
from components.kubernetes.vault_snapshot import (
    SNAPSHOT_NAME,
    snapshot_cronjob_spec,
    snapshot_policy,
)
from components.stores.vault.snapshots import AMA_CA_KEY, AMA_TLS_SECRET

CRONJOB = "kubernetes:batch/v1:CronJob"
SPEC = snapshot_cronjob_spec(
    schedule="17 * * * *",
    vault_address="https://vault-active.vault.svc:8200",
    auth_mount="kubernetes",
    audience="vault",
    ca_config_map="vault-ca",
    account_name="stacct",
    container=CONTAINER,
    suspend=False,
)


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["jobTemplate"]["spec"]["template"]["spec"]


def test_the_job_saves_a_snapshot_then_uploads_it() -> None:
    pod = _pod(SPEC)
    (snapshot,) = pod["initContainers"]
    (upload,) = pod["containers"]
    script = snapshot["args"][0]
    assert "auth/kubernetes/login role=vault-snapshot jwt=@/var/run/secrets/vault/token" in script
    assert 'vault operator raft snapshot save "/snapshots/$name"' in script
    assert script.rstrip().endswith("vault token revoke -self")
    assert snapshot["image"] == versions.VAULT_IMAGE.reference
    assert upload["image"] == versions.AZURE_CLI_IMAGE.reference
    uploaded = upload["args"][0]
    assert "--federated-token" in uploaded and "--auth-mode login" in uploaded
    assert "--overwrite false" in uploaded and "AccountKey" not in uploaded
    env = {e["name"]: e["value"] for e in snapshot["env"]}
    assert env["VAULT_ADDR"] == "https://vault-active.vault.svc:8200"
    assert env["VAULT_CACERT"] == "/vault/ca/ca.crt"
    assert not [e for c in (snapshot, upload) for e in c["env"] if "TOKEN" in e["name"]]


def test_the_job_logs_in_with_a_short_lived_vault_audience_token_only() -> None:
    pod = _pod(SPEC)
    assert pod["serviceAccountName"] == SNAPSHOT_NAME
    assert pod["automountServiceAccountToken"] is False
    (projected,) = [v for v in pod["volumes"] if "projected" in v]
    token = projected["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"audience": "vault", "expirationSeconds": 600, "path": "token"}
    labels = SPEC["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": SNAPSHOT_NAME,
        "azure.workload.identity/use": "true",
    }
    assert SPEC["concurrencyPolicy"] == "Forbid" and SPEC["timeZone"] == "Etc/UTC"


def test_the_jobs_vault_policy_reads_a_snapshot_and_nothing_else() -> None:
    assert snapshot_policy() == 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n'


def test_the_storage_account_takes_no_key_and_no_foreign_network() -> None:
    closed = account_properties((), production=True)
    assert closed["allow_shared_key_access"] is False
    assert closed["allow_blob_public_access"] is False
    assert closed["public_network_access"] == "Disabled"
    assert closed["network_rule_set"]["default_action"] == "Deny"
    assert closed["sku"]["name"] == "Standard_ZRS"
    admins = account_properties(("203.0.113.0/28", "198.51.100.7/32"), production=False)
    assert admins["public_network_access"] == "Enabled"
    assert admins["network_rule_set"]["ip_rules"] == [
        {"i_p_address_or_range": "203.0.113.0/28", "action": "Allow"},
        {"i_p_address_or_range": "198.51.100.7", "action": "Allow"},
    ]
    rule = lifecycle_rule(30)["rules"][0]["definition"]
    assert rule["actions"]["base_blob"]["delete"] == {"days_after_modification_greater_than": 30}
    assert rule["filters"]["prefix_match"] == [f"{CONTAINER}/"]


def _cronjob(run: StackRun) -> dict[str, Any]:
    return run.one(CRONJOB).props


def test_the_job_waits_suspended_for_the_one_time_init() -> None:
    before = run_stack(VAULT_HA)
    after = run_stack(VAULT_HA_INIT, secret_keys=["vault"])
    assert _cronjob(before)["spec"]["suspend"] is True
    assert _cronjob(after)["spec"]["suspend"] is False
    # Its Vault role exists only once Vault can be configured.
    assert not before.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")


def test_the_jobs_vault_role_binds_its_account_to_the_snapshot_policy() -> None:
    run = run_stack(VAULT_HA_INIT, secret_keys=["vault"])
    role = run.named("store-snapshot-role").props
    assert role["roleName"] == SNAPSHOT_NAME
    assert role["boundServiceAccountNames"] == [SNAPSHOT_NAME]
    assert role["boundServiceAccountNamespaces"] == ["vault"]
    assert role["tokenPolicies"] == [SNAPSHOT_NAME] and role["audience"] == "vault"
    assert role["tokenTtl"] == 600
    account = run.k8s("core/v1:ServiceAccount", SNAPSHOT_NAME).props
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": UAMI_CLIENT}


def test_uploads_go_to_one_container_as_the_jobs_own_identity() -> None:
    run = run_stack(VAULT_HA_PRODUCTION, secret_keys=VAULT_HA_PRODUCTION_SECRETS, stack="prod")
    account = run.one("azure-native:storage:StorageAccount").props
    assert account["allowSharedKeyAccess"] is False
    # The administrators' ranges (for a restore), nothing else; the cluster uses the endpoint.
    assert account["networkRuleSet"]["ipRules"] == [
        {"iPAddressOrRange": "203.0.113.0/28", "action": "Allow"}
    ]
    endpoint = run.named("store-snapshots-endpoint").props
    assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["blob"]
    grant = run.named("store-snapshots-grant").props
    assert grant["roleDefinitionId"].endswith(roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert grant["scope"].endswith(f"/blobServices/default/containers/{CONTAINER}")
    assert grant["scope"].startswith(f"/subscriptions/{SUBSCRIPTION}/")
    federation = run.named("store-snapshots-federation").props
    assert federation["subject"] == f"system:serviceaccount:vault:{SNAPSHOT_NAME}"
    spec = _cronjob(run)["spec"]
    upload = _pod(spec)["containers"][0]
    env = {e["name"]: e["value"] for e in upload["env"]}
    assert env["STORAGE_ACCOUNT"] == account["accountName"]
    assert env["STORAGE_CONTAINER"] == CONTAINER
    assert run.output("vaultSnapshotStorageAccount") == account["accountName"]


def test_prometheus_scrapes_every_vault_pod_over_tls() -> None:
    run = run_stack(VAULT_HA_INIT, secret_keys=["vault"])
    secret = run.k8s("core/v1:Secret", AMA_TLS_SECRET).props
    assert secret["metadata"]["namespace"] == "kube-system"
    assert secret["stringData"] == {AMA_CA_KEY: VAULT_CA_PEM}
    monitor = run.one("kubernetes:azmonitoring.coreos.com/v1:PodMonitor").props
    assert monitor["metadata"]["namespace"] == "kube-system"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["scheme"], endpoint["path"]) == ("https", "/v1/sys/metrics")
    assert endpoint["tlsConfig"]["serverName"] == "vault.vault.svc"
    assert endpoint["tlsConfig"]["insecureSkipVerify"] is False


# --- keyvault-role-least-privilege: the snapshot job's grant ------------------------------------

CONTAINER_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Storage/"
    f"storageAccounts/stacct/blobServices/default/containers/{CONTAINER}"
)


def test_blob_contributor_on_one_container_passes() -> None:
    grant = role_assignment(rules.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, scope=CONTAINER_ID)
    assert run(rules.validate_role_assignment, ROLE_ASSIGNMENT, grant) == []


def test_blob_contributor_on_a_whole_account_is_refused() -> None:
    account = CONTAINER_ID.split("/blobServices/")[0]
    grant = role_assignment(rules.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, scope=account)
    message = only(run(rules.validate_role_assignment, ROLE_ASSIGNMENT, grant))
    assert "exactly one blob container" in message
