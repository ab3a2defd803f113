"""Tests for the CrossGuard policy pack in policy/.

The validators are called the way pulumi-policy calls them: with a real
`ResourceValidationArgs` whose props are wrapped by pulumi-policy's own unknown-checking proxy,
and a `report_violation` that collects messages. The last tests start the pack itself (as the
Pulumi CLI does, through `python -m pulumi.policy`) and talk to it over gRPC.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"


def _load_rules() -> ModuleType:
    # Imported by path: policy/ is not a package, and __main__.py must never be imported.
    package = POLICY_DIR / "rules"
    spec = importlib.util.spec_from_file_location(
        "aidbox_secrets_policy_rules",
        package / "__init__.py",
        submodule_search_locations=[str(package)],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rules = _load_rules()

Validator = Callable[[ResourceValidationArgs, Callable[..., None]], None]

VAULT = "azure-native:keyvault:Vault"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
RELEASE = "kubernetes:helm.sh/v3:Release"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"

SUB = "00000000-0000-0000-0000-000000000001"
ROLE_DEFINITIONS = "providers/Microsoft.Authorization/roleDefinitions"
VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-aidbox/providers/Microsoft.KeyVault/vaults/kv-aidbox"
)


def make_args(
    resource_type: str,
    props: dict[str, Any],
    *,
    name: str = "res",
    config: dict[str, Any] | None = None,
    stack_tags: dict[str, str] | None = None,
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:dev::aidbox-secrets::{resource_type}::{name}",
        name,
        PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
        None,
        config,
        stack_tags,
    )


def run(
    validator: Validator, resource_type: str, props: dict[str, Any], **kwargs: Any
) -> list[str]:
    violations: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        violations.append(message)

    validator(make_args(resource_type, props, **kwargs), report_violation)
    return violations


def only(violations: list[str]) -> str:
    assert len(violations) == 1, violations
    return violations[0]


# --------------------------------------------------------------------------------------------
# Resources as the program registers them (compliant); tests break one thing at a time.
# --------------------------------------------------------------------------------------------


def key_vault(environment: str = "production", purge: bool | None = True) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "tenantId": "00000000-0000-0000-0000-0000000000aa",
        "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []},
    }
    if purge is not None:
        properties["enablePurgeProtection"] = purge
    return {
        "vaultName": "kv-aidbox",
        "resourceGroupName": "rg-aidbox",
        "location": "westeurope",
        "tags": {"app": "aidbox-secrets", "stack": "dev", "environment": environment},
        "properties": properties,
    }


def role_assignment(role: str, **overrides: Any) -> dict[str, Any]:
    props = {
        "roleAssignmentName": "6f1c2f8e-4d3b-5a61-9d3e-2b7c0a1e9f40",
        "principalId": "11111111-2222-3333-4444-555555555555",
        "principalType": "ServicePrincipal",
        "roleDefinitionId": f"/subscriptions/{SUB}/{ROLE_DEFINITIONS}/{role}",
        "scope": VAULT_ID,
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


def workload() -> dict[str, Any]:
    """The Aidbox Deployment: CSI secret volume, config map, env from Secrets, non-root."""
    return {
        "metadata": {"name": "aidbox", "labels": {"aidbox-secrets/environment": "non-production"}},
        "spec": {
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"app": "aidbox"}},
                "spec": {
                    "serviceAccountName": "aidbox",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000},
                    "initContainers": [
                        {
                            "name": "wait-for-db",
                            "image": "postgres:17.6",
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"cpu": "100m", "memory": "128Mi"},
                            },
                        }
                    ],
                    "containers": [
                        {
                            "name": "aidbox",
                            "image": "healthsamurai/aidboxone:2602",
                            "env": [
                                {"name": "BOX_ID", "value": "aidbox"},
                                {
                                    "name": "BOX_DB_PASSWORD",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": "db", "key": "password"}
                                    },
                                },
                                {
                                    "name": "BOX_ROOT_CLIENT_SECRET",
                                    "valueFrom": {"secretKeyRef": {"name": "creds", "key": "root"}},
                                },
                                {
                                    "name": "BOX_VAULT_CONFIG",
                                    "value": "/etc/aidbox/vault-config.json",
                                },
                                {"name": "AIDBOX_SECRET_FILES_ENABLED", "value": "true"},
                                {"name": "AIDBOX_SECRET_FILES_DIRS", "value": "/mnt/secrets"},
                            ],
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "2Gi"},
                                "limits": {"cpu": "2", "memory": "4Gi"},
                            },
                            "securityContext": {"allowPrivilegeEscalation": False},
                            "volumeMounts": [
                                {"name": "secrets", "mountPath": "/mnt/secrets", "readOnly": True},
                                {
                                    "name": "config",
                                    "mountPath": "/etc/aidbox/vault-config.json",
                                    "subPath": "vault-config.json",
                                },
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "secrets",
                            "csi": {
                                "driver": "secrets-store.csi.k8s.io",
                                "readOnly": True,
                                "volumeAttributes": {"secretProviderClass": "aidbox"},
                            },
                        },
                        {"name": "config", "configMap": {"name": "aidbox-config"}},
                    ],
                },
            },
        },
    }


def pod_spec(props: dict[str, Any]) -> dict[str, Any]:
    return props["spec"]["template"]["spec"]


def aidbox(props: dict[str, Any]) -> dict[str, Any]:
    return pod_spec(props)["containers"][0]


def helm_release(chart: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": chart,
        "chart": chart,
        "version": "1.0.0",
        "namespace": "kube-system",
        "repositoryOpts": {"repo": "https://example.invalid/charts"},
        "values": values,
    }


# --------------------------------------------------------------------------------------------
# The pack itself
# --------------------------------------------------------------------------------------------


def test_policies_are_named_uniquely_and_only_rotation_is_advisory() -> None:
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names)) == 29
    levels = {p.name: p.enforcement_level for p in rules.POLICIES}
    assert levels.pop("secret-rotation-interval") is EnforcementLevel.ADVISORY
    assert set(levels.values()) == {EnforcementLevel.MANDATORY}
    configurable = {p.name for p in rules.POLICIES if p.config_schema is not None}
    assert configurable == {
        "keyvault-purge-protection-production",
        "vault-no-dev-mode-production",
        "vault-https-production",
        "vault-ha-snapshots-production",
        "aks-local-accounts-disabled-production",
        "aks-entra-rbac-production",
        "aks-network-policy-production",
        "aks-availability-zones-production",
        "keyvault-network-deny-production",
        "aidbox-shared-keys-production",
        "aidbox-no-dev-mode-production",
        "aidbox-public-url-production",
        "aks-kubernetes-version-production",
        "aks-admission-production",
        "container-registry-production",
        "registry-images-production",
        "aks-egress-filtered-production",
        "azure-delete-locks-production",
    }
    for policy in rules.POLICIES:
        if policy.config_schema is not None:
            assert policy.config_schema.properties["production"]["type"] == "boolean"


def test_validators_ignore_other_resource_types() -> None:
    for policy in rules.RESOURCE_POLICIES:
        violations: list[str] = []
        policy.validate(
            make_args("kubernetes:core/v1:ConfigMap", {"data": {"PASSWORD": "x"}}),
            lambda message, urn=None, out=violations: out.append(message),
        )
        assert violations == [], policy.name


# --------------------------------------------------------------------------------------------
# keyvault-rbac-soft-delete
# --------------------------------------------------------------------------------------------


def test_key_vault_with_rbac_and_soft_delete_passes() -> None:
    assert run(rules.validate_key_vault_rbac_soft_delete, VAULT, key_vault()) == []


@pytest.mark.parametrize("rbac", [False, None])
def test_key_vault_without_rbac_is_refused(rbac: bool | None) -> None:
    props = key_vault()
    props["properties"]["enableRbacAuthorization"] = rbac
    message = only(run(rules.validate_key_vault_rbac_soft_delete, VAULT, props, name="kv"))
    assert "azure-native:keyvault:Vault 'kv'" in message
    assert (
        "properties.enableRbacAuthorization is " + ("false" if rbac is False else "unset")
        in message
    )


def test_key_vault_without_soft_delete_is_refused() -> None:
    props = key_vault()
    props["properties"]["enableSoftDelete"] = False
    message = only(run(rules.validate_key_vault_rbac_soft_delete, VAULT, props, name="kv"))
    assert "azure-native:keyvault:Vault 'kv'" in message
    assert "properties.enableSoftDelete is false" in message


def test_versioned_key_vault_type_is_checked_too() -> None:
    props = key_vault()
    props["properties"]["enableRbacAuthorization"] = False
    assert run(
        rules.validate_key_vault_rbac_soft_delete, "azure-native:keyvault/v20240401:Vault", props
    )


# --------------------------------------------------------------------------------------------
# keyvault-purge-protection-production
# --------------------------------------------------------------------------------------------


def test_production_vault_with_purge_protection_passes() -> None:
    assert (
        run(rules.validate_key_vault_purge_protection, VAULT, key_vault("production", True)) == []
    )


def test_non_production_vault_may_omit_purge_protection() -> None:
    props = key_vault("non-production", None)
    assert run(rules.validate_key_vault_purge_protection, VAULT, props) == []
    assert (
        run(rules.validate_key_vault_purge_protection, VAULT, props, config={"production": False})
        == []
    )


def test_vault_tagged_production_without_purge_protection_is_refused() -> None:
    props = key_vault("production", None)
    message = only(run(rules.validate_key_vault_purge_protection, VAULT, props, name="kv"))
    assert "azure-native:keyvault:Vault 'kv'" in message
    assert "properties.enablePurgeProtection is unset" in message
    assert "tags.environment: production" in message


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"config": {"production": True}}, "policy config production: true"),
        ({"stack_tags": {"environment": "production"}}, "stack tag environment: production"),
    ],
)
def test_production_from_policy_config_or_stack_tag(kwargs: dict[str, Any], reason: str) -> None:
    props = key_vault("non-production", False)
    message = only(
        run(rules.validate_key_vault_purge_protection, VAULT, props, name="kv", **kwargs)
    )
    assert "properties.enablePurgeProtection is false" in message
    assert reason in message


# --------------------------------------------------------------------------------------------
# keyvault-role-least-privilege
# --------------------------------------------------------------------------------------------


def test_vault_unseal_identity_crypto_service_encryption_user_on_one_vault_passes() -> None:
    props = role_assignment(
        rules.ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER, description="aidbox-secrets: vault-unseal"
    )
    assert run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props) == []


def test_crypto_service_encryption_user_on_a_resource_group_is_refused() -> None:
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-aidbox"
    props = role_assignment(rules.ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER, scope=scope)
    message = only(run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props))
    assert "'Key Vault Crypto Service Encryption User'" in message
    assert "exactly one vault" in message


def test_workload_secrets_user_on_one_vault_passes() -> None:
    assert (
        run(
            rules.validate_role_assignment,
            ROLE_ASSIGNMENT,
            role_assignment(rules.ROLE_KV_SECRETS_USER),
        )
        == []
    )


@pytest.mark.parametrize(
    ("principal_type", "description"),
    [
        (None, "deployer: rotate secrets with az keyvault secret set"),
        ("User", "aidbox-secrets: deployer"),  # what components/azure/key_vault.py registers
        ("ServicePrincipal", "aidbox-secrets: deployer"),  # a CI deployer
    ],
)
def test_deployer_secrets_officer_on_one_vault_passes(
    principal_type: str | None, description: str
) -> None:
    props = role_assignment(
        rules.ROLE_KV_SECRETS_OFFICER, principalType=principal_type, description=description
    )
    assert run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props) == []


def test_role_guid_accepts_every_form() -> None:
    guid = rules.ROLE_KV_SECRETS_USER
    assert rules.role_guid(guid) == guid
    assert (
        rules.role_guid(f"/providers/Microsoft.Authorization/roleDefinitions/{guid.upper()}")
        == guid
    )


@pytest.mark.parametrize(
    ("role", "label"),
    [
        ("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "'Key Vault Secrets Officer'"),
        ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "'Owner'"),
        ("b24988ac-6180-42a0-ab88-20f7382dd24c", "'Contributor'"),
        ("00482a5a-887f-4fb3-b363-3b7fe8e74483", "'Key Vault Administrator'"),
    ],
)
def test_workload_with_a_broader_role_is_refused(role: str, label: str) -> None:
    props = role_assignment(role)
    violations = run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props, name="aidbox-kv")
    message = violations[0]
    assert "azure-native:authorization:RoleAssignment 'aidbox-kv'" in message
    assert "principalType ServicePrincipal" in message
    assert label in message and "'Key Vault Secrets User'" in message


@pytest.mark.parametrize("description", [None, "aidbox-secrets: kubelet", "not deployer: x"])
def test_secrets_officer_for_a_non_deployer_is_refused(description: str | None) -> None:
    props = role_assignment(
        rules.ROLE_KV_SECRETS_OFFICER, principalType="User", description=description
    )
    message = only(run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props, name="ra"))
    assert "RoleAssignment 'ra'" in message and "principalType 'User'" in message
    assert f"description {rules.show(description)}" in message
    assert "only the deployer's rotation grant" in message


@pytest.mark.parametrize(
    "scope",
    [
        f"/subscriptions/{SUB}",
        f"/subscriptions/{SUB}/resourceGroups/rg-aidbox",
        f"{VAULT_ID}/keys/unseal",
        f"{VAULT_ID}/secrets/db-password/versions/1",
        f"{VAULT_ID}/secrets/",
        "",
    ],
)
def test_key_vault_role_not_scoped_to_one_vault_is_refused(scope: str) -> None:
    props = role_assignment(rules.ROLE_KV_SECRETS_USER, scope=scope)
    message = only(run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props, name="ra"))
    assert "RoleAssignment 'ra'" in message
    assert f"at scope '{scope}'" in message and "exactly one vault" in message
    assert "or one of its secrets" in message


def test_secrets_user_on_one_secret_passes_and_only_secrets_user() -> None:
    """Narrower than the vault: what the program grants each identity of its own in workload
    mode. The other data roles act on a vault and stay scoped to one."""
    scope = f"{VAULT_ID}/secrets/aidbox-db-password"
    user = role_assignment(rules.ROLE_KV_SECRETS_USER, scope=scope)
    assert run(rules.validate_role_assignment, ROLE_ASSIGNMENT, user) == []
    unseal = role_assignment(rules.ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER, scope=scope)
    message = only(run(rules.validate_role_assignment, ROLE_ASSIGNMENT, unseal, name="ra"))
    assert "exactly one vault" in message and "or one of its secrets" not in message


def test_deployer_officer_at_resource_group_scope_is_refused() -> None:
    props = role_assignment(
        rules.ROLE_KV_SECRETS_OFFICER,
        principalType=None,
        description="deployer: rotation",
        scope=f"/subscriptions/{SUB}/resourceGroups/rg-aidbox",
    )
    assert "exactly one vault" in only(run(rules.validate_role_assignment, ROLE_ASSIGNMENT, props))


# --------------------------------------------------------------------------------------------
# csi-secret-volume-read-only
# --------------------------------------------------------------------------------------------


def test_read_only_csi_volume_without_sub_path_passes() -> None:
    # The ConfigMap mount uses subPath: only secrets-store volumes are held to the rule.
    assert run(rules.validate_csi_volumes_read_only, DEPLOYMENT, workload()) == []


def test_csi_volume_not_read_only_is_refused() -> None:
    props = workload()
    pod_spec(props)["volumes"][0]["csi"]["readOnly"] = False
    message = only(run(rules.validate_csi_volumes_read_only, DEPLOYMENT, props, name="aidbox"))
    assert "kubernetes:apps/v1:Deployment 'aidbox'" in message
    assert "volume 'secrets' (spec.template.spec.volumes[0])" in message
    assert "csi.readOnly false" in message


def test_csi_mount_not_read_only_is_refused() -> None:
    props = workload()
    del aidbox(props)["volumeMounts"][0]["readOnly"]
    message = only(run(rules.validate_csi_volumes_read_only, DEPLOYMENT, props, name="aidbox"))
    assert "container 'aidbox' mounts secret volume 'secrets' at '/mnt/secrets'" in message
    assert "spec.template.spec.containers[0].volumeMounts[0]" in message
    assert "readOnly unset" in message


@pytest.mark.parametrize("field", ["subPath", "subPathExpr"])
def test_csi_mount_with_sub_path_is_refused(field: str) -> None:
    props = workload()
    aidbox(props)["volumeMounts"][0][field] = "db-password"
    message = only(run(rules.validate_csi_volumes_read_only, DEPLOYMENT, props, name="aidbox"))
    assert "Deployment 'aidbox'" in message and "secret volume 'secrets'" in message
    assert f"with {field} 'db-password'" in message and "rotation" in message


# --------------------------------------------------------------------------------------------
# no-literal-secret-env
# --------------------------------------------------------------------------------------------


def test_secret_env_from_secret_refs_and_known_non_secret_names_pass() -> None:
    assert run(rules.validate_no_literal_secret_env, DEPLOYMENT, workload()) == []


@pytest.mark.parametrize(
    "name", ["BOX_DB_PASSWORD", "BOX_ROOT_CLIENT_SECRET", "BOX_LICENSE", "api_token", "Vault_Token"]
)
@pytest.mark.parametrize("value", ["hunter2-literal", ""])
def test_secret_looking_env_with_literal_value_is_refused(name: str, value: str) -> None:
    props = workload()
    aidbox(props)["env"].append({"name": name, "value": value})
    message = only(run(rules.validate_no_literal_secret_env, DEPLOYMENT, props, name="aidbox"))
    assert "Deployment 'aidbox'" in message
    assert f"env var '{name}' of container 'aidbox'" in message
    assert "spec.template.spec.containers[0].env[6]" in message
    assert "literal value" in message
    assert "hunter2" not in message  # the value itself is never printed


def test_secret_looking_env_from_a_config_map_is_refused() -> None:
    props = workload()
    aidbox(props)["env"].append(
        {"name": "BOX_ADMIN_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}
    )
    message = only(run(rules.validate_no_literal_secret_env, DEPLOYMENT, props, name="aidbox"))
    assert "env var 'BOX_ADMIN_PASSWORD'" in message and "valueFrom.configMapKeyRef" in message


def test_literal_secret_env_in_an_init_container_is_refused() -> None:
    props = workload()
    pod_spec(props)["initContainers"][0]["env"] = [{"name": "PGPASSWORD", "value": "x"}]
    message = only(run(rules.validate_no_literal_secret_env, STATEFUL_SET, props, name="pg"))
    assert "StatefulSet 'pg'" in message
    assert "env var 'PGPASSWORD' of container 'wait-for-db'" in message
    assert "spec.template.spec.initContainers[0].env[0]" in message


def test_literal_env_value_unknown_at_preview_is_still_refused() -> None:
    # A value computed from another resource (a generated password) is a literal all the same.
    props = workload()
    aidbox(props)["env"].append({"name": "BOX_ADMIN_PASSWORD", "value": UNKNOWN_STRING_VALUE})
    assert "literal value" in only(run(rules.validate_no_literal_secret_env, DEPLOYMENT, props))


# --------------------------------------------------------------------------------------------
# aidbox-shared-keys-production
# --------------------------------------------------------------------------------------------

SHARED_KEYS = [
    {
        "name": name,
        "valueFrom": {"secretKeyRef": {"name": "aidbox-managed", "key": key}},
    }
    for name, key in (
        ("BOX_SECURITY_AUTH_KEYS_PRIVATE", "aidbox-auth-private-key"),
        ("BOX_SECURITY_AUTH_KEYS_PUBLIC", "aidbox-auth-public-key"),
        ("BOX_SECURITY_AUTH_KEYS_SECRET", "aidbox-auth-secret"),
    )
]


def replicated(replicas: int | None, *, keys: bool) -> dict[str, Any]:
    props = workload()
    if replicas is None:
        del props["spec"]["replicas"]
    else:
        props["spec"]["replicas"] = replicas
    if keys:
        aidbox(props)["env"].extend(copy.deepcopy(SHARED_KEYS))
    return props


def test_production_aidbox_with_replicas_and_shared_keys_passes() -> None:
    production = {"production": True}
    validate = rules.validate_aidbox_shared_keys
    assert run(validate, DEPLOYMENT, replicated(3, keys=True), config=production) == []
    assert run(validate, DEPLOYMENT, replicated(None, keys=True), config=production) == []
    # One replica, or not production: not this rule's business.
    assert run(validate, DEPLOYMENT, replicated(1, keys=False), config=production) == []
    assert run(validate, DEPLOYMENT, replicated(3, keys=False)) == []


def test_production_aidbox_with_replicas_and_no_shared_keys_is_refused() -> None:
    message = only(
        run(
            rules.validate_aidbox_shared_keys,
            DEPLOYMENT,
            replicated(2, keys=False),
            name="aidbox",
            config={"production": True},
        )
    )
    assert "Deployment 'aidbox'" in message and "spec.replicas 2" in message
    assert "BOX_SECURITY_AUTH_KEYS_PRIVATE, BOX_SECURITY_AUTH_KEYS_SECRET" in message
    assert "refused by the others" in message


START_SCRIPT = (
    "set -eu\n_keys /run/azure-secrets/aidbox-auth-keys\n"
    'export BOX_SECURITY_AUTH_KEYS_PRIVATE="${_private%"$_nl"}"\n'
    'export BOX_SECURITY_AUTH_KEYS_PUBLIC="${_public%"$_nl"}"\n'
    'export BOX_SECURITY_AUTH_KEYS_SECRET="${_secret}"\n'
    "exec /aidbox.sh\n"
)


def test_production_aidbox_exporting_the_keys_from_the_store_passes() -> None:
    """The program's start script exports the keys from the store's mounted bundle."""
    props = replicated(3, keys=False)
    aidbox(props)["command"] = ["/bin/sh", "-c", START_SCRIPT]
    validate = rules.validate_aidbox_shared_keys
    assert run(validate, DEPLOYMENT, props, config={"production": True}) == []
    # As args of a shell entrypoint, too.
    aidbox(props)["command"] = ["sh"]
    aidbox(props)["args"] = ["-c", START_SCRIPT]
    assert run(validate, DEPLOYMENT, props, config={"production": True}) == []


@pytest.mark.parametrize(
    "command",
    [
        ["/bin/sh", "-c", START_SCRIPT.replace("export BOX_SECURITY_AUTH_KEYS_SECRET", "X")],
        ["/bin/sh", "-c", "# export BOX_SECURITY_AUTH_KEYS_PRIVATE=x\nexec /aidbox.sh"],
        ["/aidbox.sh", "-c", START_SCRIPT],  # not a shell
        ["/bin/sh", "-c"],
    ],
)
def test_production_aidbox_with_a_script_that_does_not_export_the_keys_is_refused(
    command: list[str],
) -> None:
    props = replicated(3, keys=False)
    aidbox(props)["command"] = command
    message = only(
        run(rules.validate_aidbox_shared_keys, DEPLOYMENT, props, config={"production": True})
    )
    assert "without shared signing keys" in message and "`sh -c` command" in message


def test_autoscaled_aidbox_with_literal_keys_is_refused() -> None:
    props = replicated(None, keys=False)
    aidbox(props)["env"] += [
        {"name": "BOX_SECURITY_AUTH_KEYS_PRIVATE", "value": "-----BEGIN..."},
        SHARED_KEYS[2],
    ]
    props["metadata"]["labels"]["aidbox-secrets/environment"] = "production"
    message = only(run(rules.validate_aidbox_shared_keys, DEPLOYMENT, props))
    assert "unset (an autoscaler sets it)" in message
    assert "BOX_SECURITY_AUTH_KEYS_PRIVATE must come from a Secret" in message
    assert "-----BEGIN" not in message


def test_other_images_are_not_aidbox() -> None:
    props = replicated(3, keys=False)
    aidbox(props)["image"] = "example.org/healthsamurai-aidboxone-fork:1"
    assert (
        run(rules.validate_aidbox_shared_keys, DEPLOYMENT, props, config={"production": True}) == []
    )
    assert rules.is_aidbox_image("healthsamurai/aidboxone@sha256:" + "0" * 64)
    assert rules.is_aidbox_image("myregistry.azurecr.io/healthsamurai/multibox:2605.1")


# --------------------------------------------------------------------------------------------
# vault-no-dev-mode-production
# --------------------------------------------------------------------------------------------


def vault_release(dev: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"injector": {"enabled": False}, "csi": {"enabled": True}}
    if dev:
        values["server"] = {"dev": {"enabled": True}}
    else:
        values["global"] = {"enabled": False, "externalVaultAddr": "https://vault.example:8200"}
    return helm_release("vault", values)


def test_vault_dev_mode_outside_production_passes() -> None:
    assert run(rules.validate_vault_dev_mode, RELEASE, vault_release(True)) == []
    assert (
        run(
            rules.validate_vault_dev_mode,
            RELEASE,
            vault_release(True),
            config={"production": False},
        )
        == []
    )


def test_vault_without_dev_mode_in_production_passes() -> None:
    assert (
        run(
            rules.validate_vault_dev_mode,
            RELEASE,
            vault_release(False),
            config={"production": True},
        )
        == []
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"config": {"production": True}}, "policy config production: true"),
        ({"stack_tags": {"environment": "production"}}, "stack tag environment: production"),
    ],
)
def test_vault_dev_mode_in_production_is_refused(kwargs: dict[str, Any], reason: str) -> None:
    message = only(
        run(rules.validate_vault_dev_mode, RELEASE, vault_release(True), name="vault", **kwargs)
    )
    assert "kubernetes:helm.sh/v3:Release 'vault'" in message
    assert "values.server.dev.enabled is true" in message and reason in message


@pytest.mark.parametrize(
    "chart", ["./charts/vault-0.34.1.tgz", "charts/vault-1.0.0-rc.1.tgz", "oci://r.example/vault"]
)
def test_vault_dev_mode_from_a_vendored_archive_or_oci_chart_is_refused(chart: str) -> None:
    props = vault_release(True)
    props["chart"] = chart
    assert run(rules.validate_vault_dev_mode, RELEASE, props, config={"production": True})


def test_vault_dev_mode_from_a_repo_qualified_chart_name_is_refused() -> None:
    props = vault_release(True)
    props["chart"] = "hashicorp/vault"
    props["values"]["server"]["dev"]["enabled"] = "true"  # as `--set` would give it
    assert run(rules.validate_vault_dev_mode, RELEASE, props, config={"production": True})


# --------------------------------------------------------------------------------------------
# container-non-root
# --------------------------------------------------------------------------------------------


def test_pod_level_non_root_covers_every_container() -> None:
    assert run(rules.validate_non_root, DEPLOYMENT, workload()) == []


def test_container_level_non_zero_user_passes() -> None:
    props = workload()
    pod_spec(props)["securityContext"] = {}
    for container in [*pod_spec(props)["containers"], *pod_spec(props)["initContainers"]]:
        container["securityContext"] = {"runAsUser": 999}
    assert run(rules.validate_non_root, DEPLOYMENT, props) == []


def test_no_non_root_setting_is_refused() -> None:
    props = workload()
    pod_spec(props)["securityContext"] = {"fsGroup": 1000}
    violations = run(rules.validate_non_root, DEPLOYMENT, props, name="aidbox")
    assert len(violations) == 2  # the init container counts too
    assert (
        "Deployment 'aidbox': container 'wait-for-db' (spec.template.spec.initContainers[0])"
        in violations[0]
    )
    assert "container 'aidbox' (spec.template.spec.containers[0]) may run as root" in violations[1]


def test_container_overrides_pod_non_root() -> None:
    props = workload()
    pod_spec(props)["securityContext"] = {"runAsNonRoot": True}
    aidbox(props)["securityContext"]["runAsNonRoot"] = False
    message = only(run(rules.validate_non_root, DEPLOYMENT, props, name="aidbox"))
    assert "container 'aidbox'" in message
    assert "spec.template.spec.containers[0].securityContext.runAsNonRoot is false" in message


def test_run_as_user_zero_is_refused() -> None:
    props = workload()
    aidbox(props)["securityContext"]["runAsUser"] = 0.0  # numbers reach policies as floats
    message = only(run(rules.validate_non_root, DEPLOYMENT, props, name="aidbox"))
    assert "container 'aidbox' (spec.template.spec.containers[0]) runs as root" in message
    assert "securityContext.runAsUser is 0" in message


def test_bare_pod_is_checked() -> None:
    props = {"metadata": {"name": "p"}, "spec": copy.deepcopy(pod_spec(workload()))}
    props["spec"]["securityContext"] = {}
    violations = run(rules.validate_non_root, "kubernetes:core/v1:Pod", props, name="p")
    assert "(spec.containers[0])" in violations[1]


# --------------------------------------------------------------------------------------------
# container-resources
# --------------------------------------------------------------------------------------------


def test_requests_and_limits_pass() -> None:
    assert run(rules.validate_resources, DEPLOYMENT, workload()) == []


def test_missing_limits_are_refused() -> None:
    props = workload()
    del aidbox(props)["resources"]["limits"]
    pod_spec(props)["initContainers"][0]["resources"]["requests"].pop("memory")
    violations = run(rules.validate_resources, DEPLOYMENT, props, name="aidbox")
    assert len(violations) == 2
    assert "container 'wait-for-db' (spec.template.spec.initContainers[0])" in violations[0]
    assert "has no resources.requests.memory" in violations[0]
    assert "container 'aidbox'" in violations[1]
    assert "resources.limits.cpu, resources.limits.memory" in violations[1]


# --------------------------------------------------------------------------------------------
# container-image-pinned
# --------------------------------------------------------------------------------------------


def test_pinned_workload_passes() -> None:
    assert run(rules.validate_image_pinned, DEPLOYMENT, workload()) == []


@pytest.mark.parametrize(
    "image",
    [
        "healthsamurai/aidboxone:2602",
        "hashicorp/vault:1.20.4",
        "myregistry.azurecr.io:5000/aidbox/aidboxone:2602",
        "healthsamurai/aidboxone@sha256:" + "a" * 64,
        "healthsamurai/aidboxone:edge@sha256:" + "b" * 64,
    ],
)
def test_pinned_images_pass(image: str) -> None:
    assert rules.image_pin_problem(image) is None


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("healthsamurai/aidboxone:latest", "floating tag 'latest'"),
        ("healthsamurai/aidboxone:edge", "floating tag 'edge'"),
        ("healthsamurai/aidboxone:Stable", "floating tag 'Stable'"),
        ("healthsamurai/aidboxone", "no tag"),
        ("myregistry.azurecr.io:5000/aidboxone", "no tag"),
    ],
)
def test_floating_or_missing_tags_are_refused(image: str, problem: str) -> None:
    props = workload()
    aidbox(props)["image"] = image
    message = only(run(rules.validate_image_pinned, DEPLOYMENT, props, name="aidbox"))
    assert "Deployment 'aidbox': container 'aidbox' (spec.template.spec.containers[0])" in message
    assert f"image '{image}'" in message and problem in message


def test_malformed_digest_is_refused() -> None:
    assert "malformed digest" in (
        rules.image_pin_problem("healthsamurai/aidboxone@sha256:abc") or ""
    )


def test_unknown_image_is_reported_as_undecided_after_other_violations() -> None:
    props = workload()
    aidbox(props)["image"] = UNKNOWN_STRING_VALUE
    pod_spec(props)["initContainers"][0]["image"] = "postgres:latest"
    violations: list[str] = []
    with pytest.raises(UnknownValueError):
        rules.validate_image_pinned(
            make_args(DEPLOYMENT, props), lambda m, urn=None: violations.append(m)
        )
    assert "container 'wait-for-db'" in only(violations)


# --------------------------------------------------------------------------------------------
# secret-rotation-interval (advisory)
# --------------------------------------------------------------------------------------------


def csi_driver_release(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"syncSecret": {"enabled": True}, "enableSecretRotation": True}
    base.update(values)
    return helm_release("secrets-store-csi-driver", base)


@pytest.mark.parametrize("interval", ["30s", "2m", "5m", "1m30s", "300s", None])
def test_rotation_within_five_minutes_passes(interval: str | None) -> None:
    props = csi_driver_release(rotationPollInterval=interval)
    assert run(rules.validate_rotation_interval, RELEASE, props) == []


def test_rotation_every_ten_minutes_is_reported() -> None:
    props = csi_driver_release(rotationPollInterval="10m")
    message = only(run(rules.validate_rotation_interval, RELEASE, props, name="csi-driver"))
    assert "kubernetes:helm.sh/v3:Release 'csi-driver'" in message
    assert "values.rotationPollInterval is '10m', longer than 5m" in message


@pytest.mark.parametrize("enabled", [False, None])
def test_rotation_disabled_is_reported(enabled: bool | None) -> None:
    props = csi_driver_release(rotationPollInterval="2m", enableSecretRotation=enabled)
    message = only(run(rules.validate_rotation_interval, RELEASE, props, name="csi-driver"))
    assert "Release 'csi-driver'" in message and "values.enableSecretRotation is" in message


def test_rotation_interval_that_is_not_a_duration_is_reported() -> None:
    props = csi_driver_release(rotationPollInterval="5 minutes")
    assert "not a Go duration" in only(run(rules.validate_rotation_interval, RELEASE, props))


def test_azure_provider_chart_without_its_driver_subchart_passes() -> None:
    props = helm_release(
        "csi-secrets-store-provider-azure", {"secrets-store-csi-driver": {"install": False}}
    )
    assert run(rules.validate_rotation_interval, RELEASE, props) == []


def test_azure_provider_chart_installing_the_driver_without_rotation_is_reported() -> None:
    props = helm_release("csi-secrets-store-provider-azure", {})
    message = only(run(rules.validate_rotation_interval, RELEASE, props, name="azure-provider"))
    assert "values['secrets-store-csi-driver'].enableSecretRotation is unset" in message


def aks_addon(config: dict[str, str], enabled: bool = True) -> dict[str, Any]:
    return {
        "resourceName": "aks-aidbox",
        "addonProfiles": {"azureKeyvaultSecretsProvider": {"enabled": enabled, "config": config}},
    }


def test_aks_addon_rotating_every_two_minutes_passes() -> None:
    props = aks_addon({"enableSecretRotation": "true", "rotationPollInterval": "2m"})
    assert run(rules.validate_rotation_interval, MANAGED_CLUSTER, props) == []
    assert (
        run(rules.validate_rotation_interval, MANAGED_CLUSTER, aks_addon({}, enabled=False)) == []
    )


def test_aks_addon_rotating_every_hour_is_reported() -> None:
    props = aks_addon({"enableSecretRotation": "true", "rotationPollInterval": "1h"})
    message = only(run(rules.validate_rotation_interval, MANAGED_CLUSTER, props, name="aks"))
    assert "azure-native:containerservice:ManagedCluster 'aks'" in message
    assert (
        "addonProfiles.azureKeyvaultSecretsProvider.config.rotationPollInterval is '1h'" in message
    )


def test_aks_addon_without_rotation_is_reported() -> None:
    props = aks_addon({"enableSecretRotation": "false"})
    message = only(run(rules.validate_rotation_interval, MANAGED_CLUSTER, props, name="aks"))
    assert "config.enableSecretRotation is 'false'" in message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("1h30m", 5400), ("1.5h", 5400), ("500ms", 0.5), ("0", 0)],
)
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert rules.parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5 m", "2d", "m", "-1m"])
def test_non_durations_do_not_parse(text: str) -> None:
    assert rules.parse_go_duration(text) is None


# --------------------------------------------------------------------------------------------
# End to end: the pack as the Pulumi CLI runs it, over gRPC
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    grpc = pytest.importorskip("grpc")
    from pulumi.runtime.proto import analyzer_pb2_grpc

    # The CLI's Python analyzer host runs `python -m pulumi.policy <engine> <pack dir>`.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(POLICY_DIR)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the policy pack did not print its port within 60s"
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            pytest.fail(f"policy pack failed to start: {port!r} {process.communicate()[1]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(value)))
    return struct


def _analyze(stub: Any, resource_type: str, props: dict[str, Any], name: str) -> list[Any]:
    from pulumi.runtime.proto import analyzer_pb2

    request = analyzer_pb2.AnalyzeRequest(
        type=resource_type,
        properties=_struct(props),
        urn=f"urn:pulumi:prod::aidbox-secrets::{resource_type}::{name}",
        name=name,
    )
    return list(stub.Analyze(request).diagnostics)


def test_pack_starts_and_lists_its_policies(analyzer: Any) -> None:
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "aidbox-secrets"
    policies = {p.name: p for p in info.policies}
    assert set(policies) == {p.name for p in rules.POLICIES}
    assert policies["secret-rotation-interval"].enforcementLevel == analyzer_pb2.ADVISORY
    assert policies["container-non-root"].enforcementLevel == analyzer_pb2.MANDATORY
    schema = json_format.MessageToDict(policies["vault-no-dev-mode-production"].configSchema)
    assert schema["properties"]["production"]["type"] == "boolean"


def test_pack_reports_violations_through_the_engine_path(analyzer: Any) -> None:
    from pulumi.runtime.proto import analyzer_pb2

    # Struct turns every number into a float: runAsUser 1000 arrives as 1000.0, and must
    # still count as non-root on its own.
    good_props = workload()
    pod_spec(good_props)["securityContext"] = {"runAsUser": 1000}
    assert _analyze(analyzer, DEPLOYMENT, good_props, "aidbox") == []

    props = workload()
    aidbox(props)["image"] = "healthsamurai/aidboxone:edge"
    bad = _analyze(analyzer, DEPLOYMENT, props, "aidbox")
    assert [d.policyName for d in bad] == ["container-image-pinned"]
    assert bad[0].enforcementLevel == analyzer_pb2.MANDATORY
    assert "kubernetes:apps/v1:Deployment 'aidbox'" in bad[0].message
    assert "floating tag 'edge'" in bad[0].message


def test_pack_takes_production_from_policy_config(analyzer: Any) -> None:
    from pulumi.runtime.proto import analyzer_pb2

    vault = key_vault("non-production", None)
    assert _analyze(analyzer, VAULT, vault, "kv") == []

    config = {}
    for policy in rules.POLICIES:
        entry = analyzer_pb2.PolicyConfig(
            enforcementLevel=(
                analyzer_pb2.ADVISORY
                if policy.enforcement_level is EnforcementLevel.ADVISORY
                else analyzer_pb2.MANDATORY
            )
        )
        if policy.config_schema is not None:
            entry.properties.CopyFrom(_struct({"production": True}))
        config[policy.name] = entry
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))

    diagnostics = _analyze(analyzer, VAULT, vault, "kv")
    assert [d.policyName for d in diagnostics] == ["keyvault-purge-protection-production"]
    assert "policy config production: true" in diagnostics[0].message


# --------------------------------------------------------------------------------------------
# vault-no-load-balancer
# --------------------------------------------------------------------------------------------

SERVICE = "kubernetes:core/v1:Service"


def vault_service(kind: str, name: str = "vault") -> dict[str, Any]:
    return {
        "metadata": {"name": "vault-deployer-api", "namespace": "vault"},
        "spec": {
            "type": kind,
            "selector": {"app.kubernetes.io/name": name, "component": "server"},
            "ports": [{"port": 8200}],
        },
    }


def test_vault_cluster_ip_service_and_other_load_balancers_pass() -> None:
    assert run(rules.validate_vault_no_load_balancer, SERVICE, vault_service("ClusterIP")) == []
    aidbox_lb = vault_service("LoadBalancer", name="aidbox")
    assert run(rules.validate_vault_no_load_balancer, SERVICE, aidbox_lb) == []
    assert run(rules.validate_vault_no_load_balancer, RELEASE, vault_release(False)) == []


def test_vault_load_balancer_service_is_refused() -> None:
    props = vault_service("LoadBalancer")
    message = only(run(rules.validate_vault_no_load_balancer, SERVICE, props, name="api"))
    assert "kubernetes:core/v1:Service 'api'" in message
    assert "LoadBalancer Service selects Vault's pods" in message


@pytest.mark.parametrize("path", [("server", "service", "type"), ("ui", "serviceType")])
def test_vault_chart_load_balancer_values_are_refused(path: tuple[str, ...]) -> None:
    props = vault_release(True)
    node = props["values"]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = "LoadBalancer"
    message = only(run(rules.validate_vault_no_load_balancer, RELEASE, props))
    assert f"values.{'.'.join(path)} is LoadBalancer" in message
