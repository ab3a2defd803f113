"""Validators of the aidbox-secrets CrossGuard policy pack.

Every `validate_*` function has the signature pulumi-policy passes to a
`ResourceValidationPolicy`: `(args, report_violation)`. `args.props` are the resource's
inputs (camelCase, as the engine sends them); during a preview some of them may be unknown,
and reading one raises `UnknownValueError`. The validators read through `_Check`, which turns
an unknown into a value that a rule can skip, so one unknown field never hides a violation
elsewhere in the same resource; when an unknown is what kept a rule from deciding, the error is
raised at the end, and the engine reports "can't run policy during preview" (advisory) instead
of a pass. The same checks run again at `pulumi up`, when the values are known.

This module only builds policy objects (`POLICIES`); it never starts the analyzer server, so
tests import it directly. `__main__.py` is the pack's entry point and must not be imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

CSI_DRIVER = "secrets-store.csi.k8s.io"
PRODUCTION = "production"
ENVIRONMENT_LABEL = "aidbox-secrets/environment"
MAX_ROTATION_SECONDS = 5 * 60

# Azure built-in role definition GUIDs (the same in every subscription).
ROLE_KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ROLE_KV_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
ROLE_KV_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
# wrap/unwrap with a key, nothing on secrets: an `ha` Vault's auto-unseal identity.
ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
ROLE_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
ROLE_NAMES = {
    ROLE_AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    ROLE_KV_SECRETS_USER: "Key Vault Secrets User",
    ROLE_KV_SECRETS_OFFICER: "Key Vault Secrets Officer",
    ROLE_KV_ADMINISTRATOR: "Key Vault Administrator",
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    ROLE_OWNER: "Owner",
    ROLE_CONTRIBUTOR: "Contributor",
}
KEY_VAULT_DATA_ROLES = (
    ROLE_KV_SECRETS_USER,
    ROLE_KV_SECRETS_OFFICER,
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
)
# What a workload identity (principalType ServicePrincipal) may be granted.
WORKLOAD_ROLES = (ROLE_KV_SECRETS_USER, ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER)
# What the deployer's own grants may be: rotating by hand, and driving the cluster.
DEPLOYER_ROLES = (ROLE_KV_SECRETS_OFFICER, ROLE_AKS_RBAC_CLUSTER_ADMIN)
# The deployer's own grant (so they can rotate with `az keyvault secret set`) is recognised by
# its description: "deployer: ..." or the program's "aidbox-secrets: deployer".
DEPLOYER_DESCRIPTION = re.compile(r"^(?:deployer:|aidbox-secrets: deployer$)")
# One vault, nothing above it (subscription, resource group) and nothing below it (a secret).
SINGLE_VAULT_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+$",
    re.IGNORECASE,  # Azure resource IDs compare case-insensitively
)

# Image tags that move: the issue names latest and edge; stable moves the same way.
FLOATING_TAGS = frozenset({"latest", "edge", "stable"})

SECRET_ENV_NAME = re.compile(r"PASSWORD|SECRET|LICENSE|TOKEN", re.IGNORECASE)
# Names that match SECRET_ENV_NAME but carry no secret: Aidbox's legacy secret-files switch
# (set by components/aidbox/render.py for builds before BOX_VAULT_CONFIG), whose values are
# "true" and a directory path, and the postgres image's POSTGRES_PASSWORD_FILE, the path of
# the password file the CSI volume mounts. Listed by exact name so the pattern stays strict.
NON_SECRET_ENV_NAMES = frozenset(
    {"AIDBOX_SECRET_FILES_ENABLED", "AIDBOX_SECRET_FILES_DIRS", "POSTGRES_PASSWORD_FILE"}
)

# Aidbox's images (Docker Hub healthsamurai/...), and the settings that make its token-signing
# keys shared between replicas: each (current name, deprecated alias).
AIDBOX_IMAGE = re.compile(r"(?:^|/)healthsamurai/(?:aidboxone|aidbox|multibox)(?:[:@]|$)")
AIDBOX_SHARED_KEY_ENV = (
    ("BOX_SECURITY_AUTH_KEYS_PRIVATE", "BOX_AUTH_KEYS_PRIVATE"),
    ("BOX_SECURITY_AUTH_KEYS_SECRET", "BOX_AUTH_KEYS_SECRET"),
)

# Kubernetes kinds that carry a pod spec, and where it is.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers")

HELM_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})
VAULT_CHART = "vault"
CSI_DRIVER_CHART = "secrets-store-csi-driver"
AZURE_PROVIDER_CHART = "csi-secrets-store-provider-azure"  # may install the driver as a subchart

_AZURE_NATIVE = r"^azure-native:{module}(?:/v[0-9a-z]+)?:{name}$"
KEY_VAULT_TYPE = re.compile(_AZURE_NATIVE.format(module="keyvault", name="Vault"))
ROLE_ASSIGNMENT_TYPE = re.compile(
    _AZURE_NATIVE.format(module="authorization", name="RoleAssignment")
)
SERVICE_TYPE = "kubernetes:core/v1:Service"
VAULT_POD_LABEL = ("app.kubernetes.io/name", "vault")
MANAGED_CLUSTER_TYPE = re.compile(
    _AZURE_NATIVE.format(module="containerservice", name="ManagedCluster")
)
AGENT_POOL_TYPE = re.compile(_AZURE_NATIVE.format(module="containerservice", name="AgentPool"))
STACK_TYPE = "pulumi:pulumi:Stack"
NETWORK_POLICY_ENGINES = ("cilium", "calico", "azure")
# Stack outputs that look like a credential: by name, or by what the value holds.
CREDENTIAL_OUTPUT_NAME = re.compile(
    r"kubeconfig|password|token|credential(?!s?Command$)|private_?key|connection_?string"
    r"|client_?secret|access_?key|sas_?token",
    re.IGNORECASE,
)
CREDENTIAL_VALUE = re.compile(
    r"client-key-data|client-certificate-data|\btoken:\s*\S|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|AccountKey=|SharedAccessSignature=|[?&]sig=",
)

# ---------------------------------------------------------------------------------------------
# Reading props safely
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A value that is not known yet (preview); `error` is what reading it raised."""

    error: UnknownValueError


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def has_key(mapping: Any, key: str) -> bool:
    """True if `mapping` has `key`, without reading the value (which may be unknown)."""
    return isinstance(mapping, Mapping) and any(k == key for k in mapping)


def is_true(value: Any) -> bool:
    """Booleans arrive as bools, but Helm values and AKS add-on config often use strings."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def is_number(value: Any) -> bool:
    # Numbers come through protobuf Struct as floats (1000 -> 1000.0).
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Check:
    """One validation of one resource: safe reads, and violations prefixed with the resource."""

    def __init__(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        self.args = args
        self._report = report_violation
        self.where = f"{args.resource_type} '{args.name}'"
        self._undecided: UnknownValueError | None = None

    def get(self, obj: Any, *path: str | int, default: Any = None) -> Any:
        """The value at `path` under `obj`; `default` if absent or null, `Unknown` if unknown."""
        current = obj
        try:
            for key in path:
                if isinstance(key, int):
                    if not _is_list(current) or key >= len(current):
                        return default
                elif not has_key(current, key):
                    return default
                current = current[key]
        except UnknownValueError as error:
            return Unknown(error)
        return default if current is None else current

    def elements(self, obj: Any, *path: str) -> Iterator[tuple[int, Any]]:
        """(index, element) of the list at `path`; an unknown list or element yields `Unknown`."""
        value = self.get(obj, *path)
        if is_unknown(value):
            self.undecided(value)
            return
        if not _is_list(value):
            return
        for index in range(len(value)):
            yield index, self.get(value, index)

    def undecided(self, value: Unknown) -> None:
        """Record that an unknown value kept a rule from deciding."""
        if self._undecided is None:
            self._undecided = value.error

    def violation(self, message: str) -> None:
        self._report(f"{self.where}: {message}")

    def finish(self) -> None:
        if self._undecided is not None:
            raise self._undecided


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def production_reason(check: _Check) -> str | None:
    """Why this resource counts as production, or None. Any one signal is enough:
    the policy's config `production: true` (passed with --policy-pack-config), the Azure tag
    `environment: production`, the Kubernetes label `aidbox-secrets/environment: production`,
    or the Pulumi stack tag `environment: production`."""
    config = check.args.get_config() or {}
    if is_true(config.get("production")):
        return "policy config production: true"
    props = check.args.props
    tag = check.get(props, "tags", "environment")
    if isinstance(tag, str) and tag.lower() == PRODUCTION:
        return "tags.environment: production"
    label = check.get(props, "metadata", "labels", ENVIRONMENT_LABEL)
    if isinstance(label, str) and label.lower() == PRODUCTION:
        return f"metadata.labels['{ENVIRONMENT_LABEL}']: production"
    stack_tags = getattr(check.args, "stack_tags", None) or {}
    stack_env = stack_tags.get("environment")
    if isinstance(stack_env, str) and stack_env.lower() == PRODUCTION:
        return "stack tag environment: production"
    return None


# ---------------------------------------------------------------------------------------------
# Azure Key Vault
# ---------------------------------------------------------------------------------------------


def validate_key_vault_rbac_soft_delete(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if not KEY_VAULT_TYPE.match(args.resource_type):
        return
    check = _Check(args, report_violation)
    properties = check.get(args.props, "properties")
    if is_unknown(properties):
        check.undecided(properties)
        check.finish()
        return
    rbac = check.get(properties, "enableRbacAuthorization")
    if is_unknown(rbac):
        check.undecided(rbac)
    elif rbac is not True:
        check.violation(
            f"properties.enableRbacAuthorization is {_show(rbac)}; it must be true "
            "(access policies are not allowed: grant Azure RBAC roles on the vault instead)"
        )
    soft_delete = check.get(properties, "enableSoftDelete")
    if is_unknown(soft_delete):
        check.undecided(soft_delete)
    elif soft_delete is False:
        check.violation(
            "properties.enableSoftDelete is false; it must be true (or left unset: "
            "Azure turns it on)"
        )
    check.finish()


def validate_key_vault_purge_protection(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production(args, report_violation, KEY_VAULT_TYPE)
    if not found:
        return
    check, reason = found
    purge = check.get(args.props, "properties", "enablePurgeProtection")
    if is_unknown(purge):
        check.undecided(purge)
    elif purge is not True:
        check.violation(
            f"properties.enablePurgeProtection is {_show(purge)} on a production stack "
            f"({reason}); it must be true so deleted secrets cannot be purged before the "
            "retention period ends"
        )
    check.finish()


# ---------------------------------------------------------------------------------------------
# Role assignments
# ---------------------------------------------------------------------------------------------


def role_guid(role_definition_id: str) -> str:
    """The GUID at the end of a role definition ID (or the ID itself if it is a bare GUID)."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _role_label(guid: str) -> str:
    name = ROLE_NAMES.get(guid)
    return f"'{name}' ({guid})" if name else f"role {guid}"


def validate_role_assignment(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if not ROLE_ASSIGNMENT_TYPE.match(args.resource_type):
        return
    check = _Check(args, report_violation)
    props = args.props
    role_id = check.get(props, "roleDefinitionId")
    principal_type = check.get(props, "principalType")
    description = check.get(props, "description", default="")
    if is_unknown(role_id):
        check.undecided(role_id)
        check.finish()
        return
    if not isinstance(role_id, str) or not role_id:
        check.violation("roleDefinitionId is missing")
        check.finish()
        return
    guid = role_guid(role_id)

    # The deployer may be a user or, in CI, a service principal: its grant is known by its
    # description, and only Secrets Officer is allowed for it.
    deployer = isinstance(description, str) and bool(DEPLOYER_DESCRIPTION.match(description))
    if is_unknown(principal_type):
        check.undecided(principal_type)
    elif deployer and guid in DEPLOYER_ROLES:
        pass
    elif principal_type == "ServicePrincipal" and guid not in WORKLOAD_ROLES:
        check.violation(
            f"workload role assignment (principalType ServicePrincipal) grants "
            f"{_role_label(guid)}; a workload identity may only get "
            + " or ".join(_role_label(role) for role in WORKLOAD_ROLES)
        )
    elif principal_type != "ServicePrincipal" and guid == ROLE_KV_SECRETS_OFFICER:
        if is_unknown(description):
            check.undecided(description)
        else:
            check.violation(
                f"grants {_role_label(guid)} to principalType {_show(principal_type)} with "
                f"description {_show(description or None)}; only the deployer's rotation grant "
                "(description 'deployer: ...' or 'aidbox-secrets: deployer') may use Secrets "
                "Officer"
            )

    if guid in KEY_VAULT_DATA_ROLES:
        scope = check.get(props, "scope")
        if is_unknown(scope):
            check.undecided(scope)
        elif not (isinstance(scope, str) and SINGLE_VAULT_SCOPE.match(scope)):
            check.violation(
                f"grants {_role_label(guid)} at scope {_show(scope)}; it must be scoped to "
                "exactly one vault: /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                "Microsoft.KeyVault/vaults/<name> (no broader scope, no sub-path)"
            )
    check.finish()


# ---------------------------------------------------------------------------------------------
# Kubernetes workloads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    name: str
    path: str  # e.g. spec.template.spec.containers[0]
    value: Any  # the container mapping

    @property
    def label(self) -> str:
        return f"container '{self.name}' ({self.path})"


def _pod_spec(check: _Check) -> tuple[Any, str] | None:
    path = POD_SPEC_PATHS.get(check.args.resource_type)
    if path is None:
        return None
    spec = check.get(check.args.props, *path)
    if is_unknown(spec):
        check.undecided(spec)
        return None
    if not isinstance(spec, Mapping):
        return None
    return spec, ".".join(path)


def _containers(check: _Check, pod: Any, pod_path: str) -> Iterator[Container]:
    for list_name in CONTAINER_LISTS:
        for index, container in check.elements(pod, list_name):
            if is_unknown(container):
                check.undecided(container)
                continue
            if not isinstance(container, Mapping):
                continue
            name = check.get(container, "name", default="?")
            yield Container(
                name=name if isinstance(name, str) else "?",
                path=f"{pod_path}.{list_name}[{index}]",
                value=container,
            )


def _workload_containers(check: _Check) -> Iterator[Container]:
    """Every container of the resource's pod spec; none when it has no pod spec."""
    found = _pod_spec(check)
    if found is not None:
        yield from _containers(check, *found)


def validate_non_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    check = _Check(args, report_violation)
    found = _pod_spec(check)
    if found is not None:
        pod, pod_path = found
        pod_context = check.get(pod, "securityContext", default={})
        for container in _containers(check, pod, pod_path):
            _check_non_root(check, container, pod_context, pod_path)
    check.finish()


def _check_non_root(check: _Check, container: Container, pod_context: Any, pod_path: str) -> None:
    own = check.get(container.value, "securityContext", default={})
    user, user_from = _effective(check, own, pod_context, "runAsUser", container, pod_path)
    non_root, non_root_from = _effective(
        check, own, pod_context, "runAsNonRoot", container, pod_path
    )
    if is_number(user) and user == 0:
        check.violation(f"{container.label} runs as root: {user_from}.runAsUser is 0")
    elif non_root is True or (is_number(user) and user > 0):
        return
    elif is_unknown(user) or is_unknown(non_root):
        check.undecided(user if is_unknown(user) else non_root)
    else:
        why = (
            f"{non_root_from}.runAsNonRoot is false and no non-zero runAsUser is set"
            if non_root is False
            else "neither its securityContext nor the pod's sets runAsNonRoot or runAsUser"
        )
        check.violation(
            f"{container.label} may run as root: {why}; set runAsNonRoot: true or a "
            "non-zero runAsUser"
        )


def _effective(
    check: _Check, own: Any, pod_context: Any, field: str, container: Container, pod_path: str
) -> tuple[Any, str]:
    """The container's setting if it has one, else the pod's (Kubernetes' precedence)."""
    if is_unknown(own):
        return own, f"{container.path}.securityContext"
    value = check.get(own, field)
    if value is not None:
        return value, f"{container.path}.securityContext"
    if is_unknown(pod_context):
        return pod_context, f"{pod_path}.securityContext"
    return check.get(pod_context, field), f"{pod_path}.securityContext"


REQUIRED_RESOURCES = (
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
)


def validate_resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    check = _Check(args, report_violation)
    for container in _workload_containers(check):
        missing = []
        for section, resource in REQUIRED_RESOURCES:
            value = check.get(container.value, "resources", section, resource)
            if is_unknown(value):
                check.undecided(value)
            elif value in (None, ""):
                missing.append(f"resources.{section}.{resource}")
        if missing:
            check.violation(f"{container.label} has no {', '.join(missing)}")
    check.finish()


def image_pin_problem(image: str) -> str | None:
    """Why `image` is not pinned, or None when it has a digest or a fixed tag."""
    if not image:
        return "has no image"
    if "@" in image:
        digest = image.split("@", 1)[1]
        if re.fullmatch(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}", digest):
            return None
        return f"has a malformed digest '{digest}'"
    last = image.rsplit("/", 1)[-1]  # a registry port (host:5000/repo) is not a tag
    if ":" not in last:
        return "has no tag, so Kubernetes pulls ':latest'"
    tag = last.split(":", 1)[1]
    if tag.lower() in FLOATING_TAGS:
        return f"uses the floating tag '{tag}'"
    return None


def validate_image_pinned(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    check = _Check(args, report_violation)
    for container in _workload_containers(check):
        image = check.get(container.value, "image", default="")
        if is_unknown(image):
            check.undecided(image)
            continue
        problem = image_pin_problem(image if isinstance(image, str) else "")
        if problem:
            check.violation(
                f"{container.label} image {_show(image)} {problem}; pin a version tag "
                f"(not {', '.join(sorted(FLOATING_TAGS))}) or a digest"
            )
    check.finish()


def validate_csi_volumes_read_only(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = _Check(args, report_violation)
    found = _pod_spec(check)
    if found is not None:
        pod, pod_path = found
        csi_volumes = _csi_volumes(check, pod, pod_path)
        if csi_volumes:
            for container in _containers(check, pod, pod_path):
                _check_csi_mounts(check, container, csi_volumes)
    check.finish()


def _csi_volumes(check: _Check, pod: Any, pod_path: str) -> set[str]:
    names: set[str] = set()
    for index, volume in check.elements(pod, "volumes"):
        if is_unknown(volume):
            check.undecided(volume)
            continue
        driver = check.get(volume, "csi", "driver")
        if is_unknown(driver):
            check.undecided(driver)
            continue
        if driver != CSI_DRIVER:
            continue
        name = check.get(volume, "name", default="?")
        if is_unknown(name):
            check.undecided(name)
            continue
        names.add(name)
        read_only = check.get(volume, "csi", "readOnly")
        if is_unknown(read_only):
            check.undecided(read_only)
        elif read_only is not True:
            check.violation(
                f"volume '{name}' ({pod_path}.volumes[{index}]) uses the {CSI_DRIVER} driver "
                f"with csi.readOnly {_show(read_only)}; it must be true"
            )
    return names


def _check_csi_mounts(check: _Check, container: Container, csi_volumes: set[str]) -> None:
    for index, mount in check.elements(container.value, "volumeMounts"):
        if is_unknown(mount):
            check.undecided(mount)
            continue
        name = check.get(mount, "name")
        if is_unknown(name):
            check.undecided(name)
            continue
        if name not in csi_volumes:
            continue
        where = (
            f"container '{container.name}' mounts secret volume '{name}' at "
            f"{_show(check.get(mount, 'mountPath'))} ({container.path}.volumeMounts[{index}])"
        )
        read_only = check.get(mount, "readOnly")
        if is_unknown(read_only):
            check.undecided(read_only)
        elif read_only is not True:
            check.violation(f"{where} with readOnly {_show(read_only)}; it must be true")
        for field in ("subPath", "subPathExpr"):
            if has_key(mount, field):
                check.violation(
                    f"{where} with {field} {_show(check.get(mount, field))}; a subPath mount is "
                    "never updated, so secret rotation would silently stop: mount the "
                    "directory and point at the file inside it"
                )


def validate_no_literal_secret_env(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = _Check(args, report_violation)
    for container in _workload_containers(check):
        for index, env in check.elements(container.value, "env"):
            _check_env(check, container, index, env)
    check.finish()


def _check_env(check: _Check, container: Container, index: int, env: Any) -> None:
    if is_unknown(env):
        check.undecided(env)
        return
    name = check.get(env, "name")
    if is_unknown(name):
        check.undecided(name)
        return
    if not isinstance(name, str) or not SECRET_ENV_NAME.search(name):
        return
    if name in NON_SECRET_ENV_NAMES:
        return
    where = f"env var '{name}' of container '{container.name}' ({container.path}.env[{index}])"
    # The value is never read or printed: its presence is the violation, known or not.
    if has_key(env, "value"):
        check.violation(
            f"{where} has a literal value; a secret-looking variable must use "
            "valueFrom.secretKeyRef"
        )
        return
    value_from = check.get(env, "valueFrom")
    if is_unknown(value_from):
        check.undecided(value_from)
    elif isinstance(value_from, Mapping) and not has_key(value_from, "secretKeyRef"):
        sources = ", ".join(f"valueFrom.{key}" for key in value_from) or "an empty valueFrom"
        check.violation(f"{where} comes from {sources}, not from a Secret (secretKeyRef)")


# ---------------------------------------------------------------------------------------------
# Aidbox
# ---------------------------------------------------------------------------------------------


def is_aidbox_image(image: Any) -> bool:
    return isinstance(image, str) and bool(AIDBOX_IMAGE.search(image))


def _has_secret_env(check: _Check, container: Container, names: Sequence[str]) -> bool | None:
    """Whether one of `names` is set from a secretKeyRef; None if an unknown hides it."""
    for _, env in check.elements(container.value, "env"):
        if is_unknown(env):
            check.undecided(env)
            return None
        name = check.get(env, "name")
        if is_unknown(name):
            check.undecided(name)
            return None
        if name in names:
            ref = check.get(env, "valueFrom", "secretKeyRef")
            if is_unknown(ref):
                check.undecided(ref)
                return None
            return isinstance(ref, Mapping)
    return False


def validate_aidbox_shared_keys(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != "kubernetes:apps/v1:Deployment":
        return
    check = _Check(args, report_violation)
    reason = production_reason(check)
    if reason is None:
        return
    replicas = check.get(args.props, "spec", "replicas")
    if is_unknown(replicas):
        check.undecided(replicas)
        check.finish()
        return
    if is_number(replicas) and replicas <= 1:
        return
    count = "unset (an autoscaler sets it)" if replicas is None else f"{replicas:g}"
    for container in _workload_containers(check):
        image = check.get(container.value, "image")
        if is_unknown(image):
            check.undecided(image)
            continue
        if not is_aidbox_image(image):
            continue
        missing = []
        for names in AIDBOX_SHARED_KEY_ENV:
            found = _has_secret_env(check, container, names)
            if found is False:
                missing.append(names[0])
        if missing:
            check.violation(
                f"{container.label} runs Aidbox with spec.replicas {count} on a production "
                f"stack ({reason}) without shared signing keys: {', '.join(missing)} must come "
                "from a Secret (valueFrom.secretKeyRef). Without them every pod makes its own "
                "keys at start-up, so a token issued by one pod is refused by the others and "
                "every restart invalidates all tokens"
            )
    check.finish()


# ---------------------------------------------------------------------------------------------
# Helm releases and the AKS add-on
# ---------------------------------------------------------------------------------------------


_ARCHIVE = re.compile(r"^(?P<name>.+?)-v?\d+\.\d+\.\d+[^/]*\.tgz$")


def chart_name(chart: str) -> str:
    """'hashicorp/vault', 'oci://host/charts/vault', 'vault' and a local archive such as
    './charts/vault-0.34.1.tgz' are all 'vault'."""
    base = chart.rstrip("/").rsplit("/", 1)[-1]
    archive = _ARCHIVE.match(base)
    return archive["name"] if archive else base


def _helm_chart(check: _Check) -> str | None:
    if check.args.resource_type not in HELM_TYPES:
        return None
    chart = check.get(check.args.props, "chart")
    if is_unknown(chart):
        check.undecided(chart)
        return None
    return chart_name(chart) if isinstance(chart, str) else None


def validate_vault_dev_mode(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = _Check(args, report_violation)
    if _helm_chart(check) == VAULT_CHART:
        reason = production_reason(check)
        if reason is not None:
            dev = check.get(args.props, "values", "server", "dev", "enabled")
            if is_unknown(dev):
                check.undecided(dev)
            elif is_true(dev):
                check.violation(
                    f"values.server.dev.enabled is true on a production stack ({reason}); "
                    "a dev-mode Vault keeps its data in memory, unsealed, behind a root token"
                )
    check.finish()


def validate_vault_no_load_balancer(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Vault's API never gets a public endpoint: no LoadBalancer Service selecting Vault's pods,
    and no LoadBalancer in the Vault chart's values (server.service.type, ui.serviceType)."""
    check = _Check(args, report_violation)
    if args.resource_type == SERVICE_TYPE:
        kind = check.get(args.props, "spec", "type")
        label, value = VAULT_POD_LABEL
        selected = check.get(args.props, "spec", "selector", label)
        if is_unknown(kind) or is_unknown(selected):
            check.undecided(kind if is_unknown(kind) else selected)
        elif kind == "LoadBalancer" and selected == value:
            check.violation(
                f"a LoadBalancer Service selects Vault's pods ({label}={value}): Vault's API is "
                "reached through the Kubernetes API server's service proxy, never a public "
                "endpoint"
            )
    elif _helm_chart(check) == VAULT_CHART:
        for path in (("server", "service", "type"), ("ui", "serviceType")):
            kind = check.get(args.props, "values", *path)
            if is_unknown(kind):
                check.undecided(kind)
            elif kind == "LoadBalancer":
                check.violation(
                    f"values.{'.'.join(path)} is LoadBalancer: Vault's API is reached through "
                    "the Kubernetes API server's service proxy, never a public endpoint"
                )
    check.finish()


# Go's time.ParseDuration units ("\u00b5s" micro sign and "\u03bcs" Greek mu both mean us).
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration ("30s", "2m", "1h30m", "1.5h", "0"), None if it is not one."""
    text = text.strip()
    if text == "0":
        return 0.0
    total, position = 0.0, 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return total if text else None


def _check_rotation(
    check: _Check, enabled: Any, interval: Any, enabled_key: str, interval_key: str
) -> None:
    if is_unknown(enabled):
        check.undecided(enabled)
    elif not is_true(enabled):
        check.violation(
            f"{enabled_key} is {_show(enabled)}: rotation is off, so a secret changed in the "
            "store never reaches the pod; set it to true"
        )
    if is_unknown(interval):
        check.undecided(interval)
    elif interval is not None:
        seconds = parse_go_duration(interval) if isinstance(interval, str) else None
        if seconds is None:
            check.violation(f"{interval_key} {_show(interval)} is not a Go duration like '2m'")
        elif seconds > MAX_ROTATION_SECONDS:
            check.violation(
                f"{interval_key} is {_show(interval)}, longer than 5m: a rotated secret may take "
                "that long to reach the pod"
            )


def validate_rotation_interval(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = _Check(args, report_violation)
    chart = _helm_chart(check)
    if chart == CSI_DRIVER_CHART:
        values = check.get(args.props, "values", default={})
        _check_rotation(
            check,
            check.get(values, "enableSecretRotation"),
            check.get(values, "rotationPollInterval"),
            "values.enableSecretRotation",
            "values.rotationPollInterval",
        )
    elif chart == AZURE_PROVIDER_CHART:
        # The provider chart installs the driver as a subchart unless told not to.
        sub = check.get(args.props, "values", CSI_DRIVER_CHART, default={})
        install = check.get(sub, "install", default=True)
        if is_unknown(install):
            check.undecided(install)
        elif is_true(install):
            prefix = f"values['{CSI_DRIVER_CHART}']"
            _check_rotation(
                check,
                check.get(sub, "enableSecretRotation"),
                check.get(sub, "rotationPollInterval"),
                f"{prefix}.enableSecretRotation",
                f"{prefix}.rotationPollInterval",
            )
    elif MANAGED_CLUSTER_TYPE.match(args.resource_type):
        addon = check.get(args.props, "addonProfiles", "azureKeyvaultSecretsProvider")
        enabled = check.get(addon, "enabled")
        if is_unknown(addon) or is_unknown(enabled):
            check.undecided(addon if is_unknown(addon) else enabled)
        elif is_true(enabled):
            prefix = "addonProfiles.azureKeyvaultSecretsProvider.config"
            _check_rotation(
                check,
                check.get(addon, "config", "enableSecretRotation"),
                check.get(addon, "config", "rotationPollInterval"),
                f"{prefix}.enableSecretRotation",
                f"{prefix}.rotationPollInterval",
            )
    check.finish()


# ---------------------------------------------------------------------------------------------
# AKS and Key Vault network (production)
# ---------------------------------------------------------------------------------------------


def _production(
    args: ResourceValidationArgs, report_violation: ReportViolation, resource_type: re.Pattern
):
    """(check, reason) for a production resource of `resource_type`, else None."""
    if not resource_type.match(args.resource_type):
        return None
    check = _Check(args, report_violation)
    reason = production_reason(check)
    return (check, reason) if reason else None


def _production_cluster(args: ResourceValidationArgs, report_violation: ReportViolation):
    return _production(args, report_violation, MANAGED_CLUSTER_TYPE)


def validate_aks_local_accounts(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    disabled = check.get(args.props, "disableLocalAccounts")
    if is_unknown(disabled):
        check.undecided(disabled)
    elif disabled is not True:
        check.violation(
            f"disableLocalAccounts is {_show(disabled)} on a production cluster ({reason}); it "
            "must be true: the static cluster-admin credential bypasses Entra ID and audit"
        )
    check.finish()


def validate_aks_entra_rbac(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    for key in ("managed", "enableAzureRBAC"):
        value = check.get(args.props, "aadProfile", key)
        if is_unknown(value):
            check.undecided(value)
        elif value is not True:
            check.violation(
                f"aadProfile.{key} is {_show(value)} on a production cluster ({reason}); "
                "Entra ID sign-in with Azure RBAC for Kubernetes authorization is required"
            )
    check.finish()


def validate_aks_network_policy(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    engine = check.get(args.props, "networkProfile", "networkPolicy")
    if is_unknown(engine):
        check.undecided(engine)
    elif engine not in NETWORK_POLICY_ENGINES:
        check.violation(
            f"networkProfile.networkPolicy is {_show(engine)} on a production cluster "
            f"({reason}); one of {list(NETWORK_POLICY_ENGINES)} is needed, or NetworkPolicies "
            "are not enforced"
        )
    check.finish()


def _check_zones(check: _Check, pool: Any, where: str, reason: str) -> None:
    zones = check.get(pool, "availabilityZones")
    if is_unknown(zones):
        check.undecided(zones)
    elif not _is_list(zones) or len(zones) < 2:
        check.violation(
            f"{where}.availabilityZones is {_show(zones if zones else None)} on production "
            f"({reason}); spread every pool over at least two zones"
        )


def validate_aks_zones(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if AGENT_POOL_TYPE.match(args.resource_type):
        check = _Check(args, report_violation)
        reason = production_reason(check)
        if reason:
            _check_zones(check, args.props, "agent pool", reason)
            check.finish()
        return
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    for index, pool in check.elements(args.props, "agentPoolProfiles"):
        if is_unknown(pool):
            check.undecided(pool)
        else:
            _check_zones(check, pool, f"agentPoolProfiles[{index}]", reason)
    check.finish()


def validate_key_vault_network(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production(args, report_violation, KEY_VAULT_TYPE)
    if not found:
        return
    check, reason = found
    action = check.get(args.props, "properties", "networkAcls", "defaultAction")
    if is_unknown(action):
        check.undecided(action)
    elif action != "Deny":
        check.violation(
            f"properties.networkAcls.defaultAction is {_show(action)} on production ({reason}); "
            "it must be Deny, with the cluster's path in (private endpoint or subnet rule)"
        )
    for index, rule in check.elements(args.props, "properties", "networkAcls", "ipRules"):
        value = check.get(rule, "value")
        if is_unknown(value):
            check.undecided(value)
        elif value in ("0.0.0.0/0", "0.0.0.0"):
            check.violation(
                f"properties.networkAcls.ipRules[{index}] is {_show(value)} on production "
                f"({reason}); it opens the vault to every network"
            )
    check.finish()


def credential_outputs(outputs: Any) -> list[str]:
    """Names of stack outputs that look like a credential, by name or by value."""
    found = []
    for key in outputs if isinstance(outputs, Mapping) else ():
        try:
            value = outputs[key]
        except UnknownValueError:
            value = None
        by_value = any(CREDENTIAL_VALUE.search(text) for text in _strings(value))
        if CREDENTIAL_OUTPUT_NAME.search(str(key)) or by_value:
            found.append(str(key))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in value:
            yield f"{key}: "  # a kubeconfig-like key (client-key-data) is enough
            try:
                yield from _strings(value[key])
            except UnknownValueError:
                continue
    elif _is_list(value):
        for item in value:
            yield from _strings(item)


def validate_no_credential_outputs(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """pulumi/actions sets every stack output on the job (and `pulumi stack output
    --show-secrets` prints them): a credential must never be one, secret or not. The root
    Stack resource's outputs are the stack outputs."""
    for resource in args.resources:
        if resource.resource_type != STACK_TYPE:
            continue
        for key in credential_outputs(resource.props):
            report_violation(
                f"stack output '{key}' looks like a credential; export how to obtain one "
                "(e.g. `az aks get-credentials ...`), never the credential itself",
                resource.urn,
            )


def _show(value: Any) -> str:
    """A value for a message: quoted strings, 'unset' for missing. Never used for env values."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------

PRODUCTION_CONFIG = PolicyConfigSchema(
    properties={
        "production": {
            "type": "boolean",
            "default": False,
            "description": (
                "Treat every resource as production. Also production without this: an Azure "
                "tag environment=production, a Kubernetes label "
                f"{ENVIRONMENT_LABEL}=production, or the stack tag environment=production."
            ),
        }
    }
)

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy(
        name="keyvault-rbac-soft-delete",
        description=(
            "Key Vaults use Azure RBAC (properties.enableRbacAuthorization: true) and keep "
            "soft delete on (properties.enableSoftDelete not false)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_key_vault_rbac_soft_delete,
    ),
    ResourceValidationPolicy(
        name="keyvault-purge-protection-production",
        description=(
            "On production (policy config production: true, or the vault tagged "
            "environment=production, or the stack tagged environment=production), Key Vaults "
            "have properties.enablePurgeProtection: true."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_key_vault_purge_protection,
    ),
    ResourceValidationPolicy(
        name="keyvault-role-least-privilege",
        description=(
            "Role assignments: a workload assignment (principalType ServicePrincipal, which "
            "includes managed identities) grants only 'Key Vault Secrets User' or 'Key Vault "
            "Crypto Service Encryption User' (an ha Vault's auto-unseal); 'Key Vault "
            "Secrets Officer' is only for the deployer's grant (a user, or in CI a service "
            "principal, with description 'deployer: ...' or 'aidbox-secrets: deployer'); and "
            "every Secrets "
            "User, Secrets Officer or Crypto Service Encryption User assignment is scoped to "
            "exactly one vault "
            "(/subscriptions/*/resourceGroups/*/providers/Microsoft.KeyVault/vaults/<name>, "
            "nothing broader, no sub-path)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_role_assignment,
    ),
    ResourceValidationPolicy(
        name="csi-secret-volume-read-only",
        description=(
            f"Volumes of the {CSI_DRIVER} driver have csi.readOnly: true, and every container "
            "mount of them is readOnly: true with no subPath/subPathExpr (a subPath mount never "
            "sees rotated secrets)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_csi_volumes_read_only,
    ),
    ResourceValidationPolicy(
        name="no-literal-secret-env",
        description=(
            "Container env vars whose name contains PASSWORD, SECRET, LICENSE or TOKEN "
            "(any case) take their value from valueFrom.secretKeyRef, never a literal value. "
            "Exempt by exact name: " + ", ".join(sorted(NON_SECRET_ENV_NAMES)) + "."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_no_literal_secret_env,
    ),
    ResourceValidationPolicy(
        name="vault-no-dev-mode-production",
        description=(
            "On production (policy config production: true, or the stack tagged "
            "environment=production), the HashiCorp Vault Helm chart does not run in dev mode "
            "(values.server.dev.enabled)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_vault_dev_mode,
    ),
    ResourceValidationPolicy(
        name="vault-no-load-balancer",
        description=(
            "Vault's API has no public endpoint: no Service of type LoadBalancer selects Vault's "
            "pods (app.kubernetes.io/name=vault), and the Vault chart's server.service.type and "
            "ui.serviceType are not LoadBalancer."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_vault_no_load_balancer,
    ),
    ResourceValidationPolicy(
        name="container-non-root",
        description=(
            "Every container and init container runs as non-root: runAsNonRoot: true or a "
            "non-zero runAsUser, in its own securityContext or else the pod's; runAsUser 0 "
            "is refused."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_non_root,
    ),
    ResourceValidationPolicy(
        name="container-resources",
        description=(
            "Every container and init container sets resources.requests and resources.limits "
            "for both cpu and memory."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_resources,
    ),
    ResourceValidationPolicy(
        name="container-image-pinned",
        description=(
            "Every container image has a digest or a fixed tag: no tag (which means latest) "
            "and the floating tags " + ", ".join(sorted(FLOATING_TAGS)) + " are refused."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_image_pinned,
    ),
    ResourceValidationPolicy(
        name="aidbox-shared-keys-production",
        description=(
            "On production, a Deployment running an Aidbox image (healthsamurai/aidboxone, "
            "aidbox or multibox) with more than one replica, or with the count left to an "
            "autoscaler, sets BOX_SECURITY_AUTH_KEYS_PRIVATE and BOX_SECURITY_AUTH_KEYS_SECRET "
            "from a Secret (valueFrom.secretKeyRef): otherwise tokens issued by one pod are "
            "refused by the others."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aidbox_shared_keys,
    ),
    ResourceValidationPolicy(
        name="secret-rotation-interval",
        description=(
            "Secrets Store CSI driver rotation is on and polls at most every 5 minutes "
            "(secrets-store-csi-driver chart values, the Azure provider chart's driver "
            "subchart, or the AKS azureKeyvaultSecretsProvider add-on config)."
        ),
        enforcement_level=EnforcementLevel.ADVISORY,
        validate=validate_rotation_interval,
    ),
    ResourceValidationPolicy(
        name="aks-local-accounts-disabled-production",
        description=(
            "On production, AKS clusters set disableLocalAccounts: true (no static "
            "cluster-admin credential; Entra ID only)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_local_accounts,
    ),
    ResourceValidationPolicy(
        name="aks-entra-rbac-production",
        description=(
            "On production, AKS clusters use managed Entra ID integration with Azure RBAC for "
            "Kubernetes authorization (aadProfile.managed and aadProfile.enableAzureRBAC true)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_entra_rbac,
    ),
    ResourceValidationPolicy(
        name="aks-network-policy-production",
        description=(
            "On production, AKS clusters run a network policy engine "
            "(networkProfile.networkPolicy cilium, calico or azure)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_network_policy,
    ),
    ResourceValidationPolicy(
        name="aks-availability-zones-production",
        description=(
            "On production, every AKS node pool (agentPoolProfiles and AgentPool resources) "
            "spans at least two availability zones."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_zones,
    ),
    ResourceValidationPolicy(
        name="keyvault-network-deny-production",
        description=(
            "On production, Key Vaults deny network access by default "
            "(properties.networkAcls.defaultAction: Deny) and no IP rule opens 0.0.0.0/0."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_key_vault_network,
    ),
    StackValidationPolicy(
        name="no-credential-stack-output",
        description=(
            "No stack output looks like a credential: by name (kubeconfig, password, token, "
            "credential, private key, connection string, ...) or by value (client key or "
            "certificate data, a token, a PEM private key, a storage key or SAS)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_no_credential_outputs,
    ),
]
RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
