"""Aidbox on production: replicas share their token-signing keys, from a Secret."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .common import Check, is_number, is_unknown, production_reason
from .kubernetes.pods import Container, workload_containers

# Aidbox's images (Docker Hub healthsamurai/...), and the settings that make its token-signing
# keys shared between replicas: each (current name, deprecated alias).
AIDBOX_IMAGE = re.compile(r"(?:^|/)healthsamurai/(?:aidboxone|aidbox|multibox)(?:[:@]|$)")
AIDBOX_SHARED_KEY_ENV = (
    ("BOX_SECURITY_AUTH_KEYS_PRIVATE", "BOX_AUTH_KEYS_PRIVATE"),
    ("BOX_SECURITY_AUTH_KEYS_SECRET", "BOX_AUTH_KEYS_SECRET"),
)


def is_aidbox_image(image: Any) -> bool:
    return isinstance(image, str) and bool(AIDBOX_IMAGE.search(image))


def _has_secret_env(check: Check, container: Container, names: Sequence[str]) -> bool | None:
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
    check = Check(args, report_violation)
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
    for container in workload_containers(check):
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
