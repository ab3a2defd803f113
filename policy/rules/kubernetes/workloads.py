"""Every container: non-root, resources set, a pinned image, no literal secret in its env."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import Check, has_key, is_number, is_unknown, show
from .pods import Container, pod_containers, pod_spec, workload_containers

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


def validate_non_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    check = Check(args, report_violation)
    found = pod_spec(check)
    if found is not None:
        pod, pod_path = found
        pod_context = check.get(pod, "securityContext", default={})
        for container in pod_containers(check, pod, pod_path):
            _check_non_root(check, container, pod_context, pod_path)
    check.finish()


def _check_non_root(check: Check, container: Container, pod_context: Any, pod_path: str) -> None:
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
    check: Check, own: Any, pod_context: Any, field: str, container: Container, pod_path: str
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
    check = Check(args, report_violation)
    for container in workload_containers(check):
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
    check = Check(args, report_violation)
    for container in workload_containers(check):
        image = check.get(container.value, "image", default="")
        if is_unknown(image):
            check.undecided(image)
            continue
        problem = image_pin_problem(image if isinstance(image, str) else "")
        if problem:
            check.violation(
                f"{container.label} image {show(image)} {problem}; pin a version tag "
                f"(not {', '.join(sorted(FLOATING_TAGS))}) or a digest"
            )
    check.finish()


def validate_no_literal_secret_env(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = Check(args, report_violation)
    for container in workload_containers(check):
        for index, env in check.elements(container.value, "env"):
            _check_env(check, container, index, env)
    check.finish()


def _check_env(check: Check, container: Container, index: int, env: Any) -> None:
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
