"""An `ha` Vault's scheduled Raft snapshot, as pure data: the CronJob and the Vault policy it
logs in with.

The job runs two containers in one pod, sharing an emptyDir: first the pinned Vault image logs
in through Kubernetes auth with a short-lived, audience-bound token of its own ServiceAccount
(role `vault-snapshot`, whose policy may only read sys/storage/raft/snapshot) and runs `vault
operator raft snapshot save`; then the Azure CLI image signs in with workload identity (the
federated token the AKS webhook mounts) and uploads the file with `az storage blob upload
--auth-mode login`. No Vault token or storage key is stored anywhere: each run gets its own."""

from __future__ import annotations

from typing import Any

from ..versions import AZURE_CLI_IMAGE, VAULT_IMAGE
from .helm_values import VAULT_CA_DIR, VAULT_CA_FILE, WORKLOAD_IDENTITY_LABEL

SNAPSHOT_NAME = "vault-snapshot"  # ServiceAccount, CronJob, Vault role and policy
SNAPSHOT_LABELS = {"app.kubernetes.io/name": SNAPSHOT_NAME}
SNAPSHOT_PATH = "sys/storage/raft/snapshot"
WORK_DIR = "/snapshots"
TOKEN_DIR = "/var/run/secrets/vault"
TOKEN_SECONDS = 600  # the ServiceAccount token Vault reviews at login
VAULT_TOKEN_TTL, VAULT_TOKEN_MAX_TTL = 600, 900
NON_ROOT = 65532
CONTAINER_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def snapshot_policy() -> str:
    """The job's Vault policy: take a snapshot, nothing else (no secret, no restore)."""
    return f'path "{SNAPSHOT_PATH}" {{\n  capabilities = ["read"]\n}}\n'


def snapshot_script(auth_mount: str) -> str:
    """Log in, save a snapshot named by its UTC time, hand the name on, revoke the token."""
    return (
        'VAULT_TOKEN="$(vault write -field=token '
        f'auth/{auth_mount}/login role={SNAPSHOT_NAME} jwt=@{TOKEN_DIR}/token)"\n'
        "export VAULT_TOKEN\n"
        'name="vault-raft-$(date -u +%Y%m%dT%H%M%SZ).snap"\n'
        f'vault operator raft snapshot save "{WORK_DIR}/$name"\n'
        f"printf '%s' \"$name\" > {WORK_DIR}/name\n"
        "vault token revoke -self\n"
    )


def upload_script() -> str:
    """Sign in as the workload identity and upload without overwriting an existing blob."""
    return (
        'az login --service-principal --username "$AZURE_CLIENT_ID" '
        '--tenant "$AZURE_TENANT_ID" --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" '
        "--allow-no-subscriptions --output none\n"
        f'name="$(cat {WORK_DIR}/name)"\n'
        'az storage blob upload --auth-mode login --account-name "$STORAGE_ACCOUNT" '
        '--container-name "$STORAGE_CONTAINER" --name "$name" '
        f'--file "{WORK_DIR}/$name" --overwrite false --output none\n'
    )


def _env(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def snapshot_cronjob_spec(
    *,
    schedule: str,
    vault_address: str,
    auth_mount: str,
    audience: str,
    ca_config_map: str,
    account_name: str,
    container: str,
    suspend: bool,
) -> dict[str, Any]:
    """The CronJob's spec. `suspend` until Vault is initialised and configured (its role does
    not exist before): a suspended job is still there for the policy pack to see."""
    work = {"name": "work", "mountPath": WORK_DIR}
    tmp = {"name": "tmp", "mountPath": "/tmp"}
    pod = {
        "serviceAccountName": SNAPSHOT_NAME,
        # Vault's login token is a projected one with Vault's audience (below), not this one.
        "automountServiceAccountToken": False,
        "restartPolicy": "OnFailure",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NON_ROOT,
            "runAsGroup": NON_ROOT,
            "fsGroup": NON_ROOT,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumes": [
            {"name": "work", "emptyDir": {"sizeLimit": "2Gi"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            {
                "name": "vault-token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": audience,
                                "expirationSeconds": TOKEN_SECONDS,
                                "path": "token",
                            }
                        }
                    ]
                },
            },
            {"name": "vault-ca", "configMap": {"name": ca_config_map}},
        ],
        "initContainers": [
            {
                "name": "snapshot",
                "image": VAULT_IMAGE.reference,
                "command": ["/bin/sh", "-ec"],
                "args": [snapshot_script(auth_mount)],
                "env": _env(
                    {"VAULT_ADDR": vault_address, "VAULT_CACERT": VAULT_CA_FILE, "HOME": "/tmp"}
                ),
                "volumeMounts": [
                    work,
                    tmp,
                    {"name": "vault-token", "mountPath": TOKEN_DIR, "readOnly": True},
                    {"name": "vault-ca", "mountPath": VAULT_CA_DIR, "readOnly": True},
                ],
                "resources": CONTAINER_RESOURCES,
                "securityContext": HARDENED,
            }
        ],
        "containers": [
            {
                "name": "upload",
                "image": AZURE_CLI_IMAGE.reference,
                "command": ["/bin/sh", "-ec"],
                "args": [upload_script()],
                "env": _env(
                    {
                        "STORAGE_ACCOUNT": account_name,
                        "STORAGE_CONTAINER": container,
                        "AZURE_CONFIG_DIR": "/tmp/azure",
                        "HOME": "/tmp",
                    }
                ),
                "volumeMounts": [{**work, "readOnly": True}, tmp],
                "resources": CONTAINER_RESOURCES,
                "securityContext": HARDENED,
            }
        ],
    }
    return {
        "schedule": schedule,
        "timeZone": "Etc/UTC",
        "suspend": suspend,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {"labels": {**SNAPSHOT_LABELS, WORKLOAD_IDENTITY_LABEL: "true"}},
                    "spec": pod,
                },
            }
        },
    }
