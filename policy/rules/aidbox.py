"""Aidbox on production: replicas share their token-signing keys, from a Secret or the store's
mounted files; no development switch is on; users reach it at a public HTTPS address."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .common import Check, is_number, is_unknown, production_reason, show
from .kubernetes.pods import Container, workload_containers

# Aidbox's images (Docker Hub healthsamurai/...), and the settings that make its token-signing
# keys shared between replicas: each (current name, deprecated alias).
AIDBOX_IMAGE = re.compile(r"(?:^|/)healthsamurai/(?:aidboxone|aidbox|multibox)(?:[:@]|$)")
AIDBOX_SHARED_KEY_ENV = (
    ("BOX_SECURITY_AUTH_KEYS_PRIVATE", "BOX_AUTH_KEYS_PRIVATE"),
    ("BOX_SECURITY_AUTH_KEYS_SECRET", "BOX_AUTH_KEYS_SECRET"),
)


# Shells a container command may run a script with (`sh -c <script>`).
SHELLS = ("sh", "ash", "dash", "bash")


# Aidbox's development switches, each with its deprecated name (its settings reference,
# reference/all-settings.md): dev mode, the SU header, zen dev mode. The same list as
# components/settings/aidbox_env.py DEV_MODE_ENV (tests/test_policy_aidbox.py checks).
AIDBOX_DEV_MODE_ENV = (
    "BOX_SECURITY_DEV_MODE",
    "AIDBOX_DEV_MODE",
    "BOX_SECURITY_DEBUG_SU_ENABLE",
    "BOX_DEBUG_SU_ENABLE",
    "BOX_ZEN_PROJECT_DEV_MODE",
    "AIDBOX_ZEN_DEV_MODE",
)


# The base URL Aidbox puts into tokens and links (all-settings.md: web.base-url, and its
# deprecated name), and host names that only resolve inside the cluster.
AIDBOX_BASE_URL_ENV = ("BOX_WEB_BASE_URL", "AIDBOX_BASE_URL")
CLUSTER_LOCAL_HOST = re.compile(
    r"(?:^localhost$|\.svc$|\.svc\.cluster\.local$|\.cluster\.local$|^[0-9.]+$|^\[)"
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


def _shell_exports(check: Check, container: Container, names: Sequence[str]) -> bool | None:
    """Whether the container's command is a shell script (`sh -c <script>`) that exports one
    of `names`, as Aidbox's start script does from the secret store's mounted files; None if
    an unknown hides it."""
    parts: list[Any] = []
    for key in ("command", "args"):
        for _, part in check.elements(container.value, key):
            if is_unknown(part):
                check.undecided(part)
                return None
            parts.append(part)
    shell = parts[0].rsplit("/", 1)[-1] if parts and isinstance(parts[0], str) else None
    if "-c" not in parts or shell not in SHELLS:
        return False
    script = parts[parts.index("-c") + 1] if parts.index("-c") + 1 < len(parts) else None
    if not isinstance(script, str):
        return False
    return any(re.search(rf"(?m)^\s*export\s+{re.escape(n)}=", script) for n in names)


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
                found = _shell_exports(check, container, names)
            if found is False:
                missing.append(names[0])
        if missing:
            check.violation(
                f"{container.label} runs Aidbox with spec.replicas {count} on a production "
                f"stack ({reason}) without shared signing keys: {', '.join(missing)} must come "
                "from a Secret (valueFrom.secretKeyRef) or be exported by the container's "
                "`sh -c` command (from a mounted secret file). Without them every pod makes its "
                "own keys at start-up, so a token issued by one pod is refused by the others and "
                "every restart invalidates all tokens"
            )
    check.finish()


def _aidbox_containers(check: Check) -> list[Container]:
    found = []
    for container in workload_containers(check):
        image = check.get(container.value, "image")
        if is_unknown(image):
            check.undecided(image)
        elif is_aidbox_image(image):
            found.append(container)
    return found


def validate_aidbox_no_dev_mode(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """A development switch is refused unless its literal value is "false": a value from a
    ConfigMap or Secret cannot be checked here, so it is refused too."""
    check = Check(args, report_violation)
    reason = production_reason(check)
    if reason is None:
        return
    for container in _aidbox_containers(check):
        for index, env in check.elements(container.value, "env"):
            name = check.get(env, "name")
            if is_unknown(name):
                check.undecided(name)
                continue
            if name not in AIDBOX_DEV_MODE_ENV:
                continue
            value = check.get(env, "value")
            if is_unknown(value):
                check.undecided(value)
            elif check.get(env, "valueFrom") is not None:
                check.violation(
                    f"{container.label} on a production stack ({reason}) takes {name} from "
                    f"valueFrom (env[{index}]): set it to the literal 'false' or leave it out"
                )
            elif not (isinstance(value, str) and value.strip().lower() == "false"):
                check.violation(
                    f"{container.label} on a production stack ({reason}) sets {name} to "
                    f"something other than 'false' (env[{index}]): a development switch of "
                    "Aidbox (debug traces, acting as another user, reloading code) is off on "
                    "production"
                )
    check.finish()


def base_url_problem(url: Any) -> str | None:
    """Why `url` is not an address users reach on production, or None."""
    if not isinstance(url, str) or not url:
        return "is not a literal URL"
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    if scheme.lower() != "https":
        return "is not https"
    if not host or CLUSTER_LOCAL_HOST.search(host.lower()):
        return "names a host inside the cluster (.svc, .cluster.local, localhost) or an address"
    return None


def validate_aidbox_public_url(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Aidbox's base URL on production is the https address users reach, not the in-cluster
    Service: it ends up in tokens (iss), links and redirects."""
    check = Check(args, report_violation)
    reason = production_reason(check)
    if reason is None:
        return
    for container in _aidbox_containers(check):
        seen = False
        for index, env in check.elements(container.value, "env"):
            name = check.get(env, "name")
            if is_unknown(name):
                check.undecided(name)
                continue
            if name not in AIDBOX_BASE_URL_ENV:
                continue
            seen = True
            value = check.get(env, "value")
            if is_unknown(value):
                check.undecided(value)
                continue
            problem = base_url_problem(value)
            if problem:
                check.violation(
                    f"{container.label} on a production stack ({reason}): {name} "
                    f"{show(value)} (env[{index}]) {problem}: set the https address users "
                    "reach Aidbox at (aidbox.host, or aidbox.internal.baseUrl)"
                )
        if not seen:
            check.violation(
                f"{container.label} on a production stack ({reason}) sets no BOX_WEB_BASE_URL: "
                "Aidbox would name an address users cannot reach in tokens and links"
            )
    check.finish()
