"""`aidbox.env`: further plain Aidbox settings, and what may never go there. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .reader import Section, fail

# What the program sets (components/aidbox/render.py) or reads from the store, each with the
# deprecated names Aidbox still reads in its place: HealthSamurai/documentation
# docs/reference/all-settings.md ("Deprecated environment variables"), and for the admin
# password and root client secret the names its production guide still uses
# (docs/deployment-and-maintenance/deploy-aidbox/run-aidbox-in-kubernetes/
# deploy-production-ready-aidbox-to-kubernetes.md).
MANAGED_SETTINGS: dict[str, tuple[str, ...]] = {
    "BOX_ID": ("AIDBOX_BOX_ID",),
    "BOX_WEB_PORT": ("AIDBOX_PORT",),
    "BOX_METRICS_PORT": (),
    "BOX_WEB_BASE_URL": ("AIDBOX_BASE_URL",),
    "BOX_DB_HOST": ("PGHOST",),
    "BOX_DB_PORT": ("PGPORT",),
    "BOX_DB_DATABASE": ("PGDATABASE",),
    "BOX_DB_USER": ("PGUSER",),
    "BOX_DB_PASSWORD": ("PGPASSWORD",),
    "BOX_ADMIN_PASSWORD": ("AIDBOX_ADMIN_PASSWORD",),
    "BOX_ROOT_CLIENT_SECRET": ("AIDBOX_CLIENT_SECRET",),
    "BOX_LICENSE": ("AIDBOX_LICENSE",),
    "BOX_VAULT_CONFIG": (),
    "BOX_INIT_BUNDLE": (),
    "AIDBOX_SECRET_FILES_ENABLED": (),
    "AIDBOX_SECRET_FILES_DIRS": (),
    "BOX_SECURITY_AUTH_KEYS_PRIVATE": ("BOX_AUTH_KEYS_PRIVATE",),
    "BOX_SECURITY_AUTH_KEYS_PUBLIC": ("BOX_AUTH_KEYS_PUBLIC",),
    "BOX_SECURITY_AUTH_KEYS_SECRET": ("BOX_AUTH_KEYS_SECRET",),
    "BOX_SECURITY_DEV_MODE": ("AIDBOX_DEV_MODE",),
    "JAVA_OPTS": (),
}
# The JVM reads these beside JAVA_OPTS: a heap size there would undo aidbox.heapPercentage.
JVM_OPTIONS_ENV = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")
MANAGED_ENV = frozenset(
    {name for setting, aliases in MANAGED_SETTINGS.items() for name in (setting, *aliases)}
    | set(JVM_OPTIONS_ENV)
)
# Development switches in the same reference, each with its deprecated name: dev mode
# (access-policy debug traces to callers), the SU header (an administrator acts as any user),
# zen dev mode (reloads namespaces from disk). Production refuses any of them but "false".
DEV_MODE_ENV = (
    "BOX_SECURITY_DEV_MODE",
    "AIDBOX_DEV_MODE",
    "BOX_SECURITY_DEBUG_SU_ENABLE",
    "BOX_DEBUG_SU_ENABLE",
    "BOX_ZEN_PROJECT_DEV_MODE",
    "AIDBOX_ZEN_DEV_MODE",
)
# JDBC parameters that decide TLS to the database: the database component sets them.
MANAGED_ENV_PREFIXES = ("AIDBOX_DB_PARAM_SSL",)

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|LICENSE|CREDENTIAL|PRIVATE|CERT", re.IGNORECASE
)
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.")
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


# JAVA_OPTS: the heap as a share of the container's memory limit. 75 is what Health Samurai's
# charts set for Aidbox (HealthSamurai/helm-charts payerbox/values.yaml, mdmbox/values.yaml:
# `-XX:MaxRAMPercentage=75`) and its Cloud Run guide (docs/tutorials/other-tutorials/
# how-to-run-aidbox-in-gcp-cloud-run.md); the JVM's own default is 25.
DEFAULT_HEAP_PERCENTAGE = 75
_HEAP_FLAG = re.compile(r"(?:^|\s)-(?:Xmx|XX:MaxRAMPercentage=|XX:MaxRAM=|XX:MaxHeapSize=)")
_SECRET_WORD = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL", re.IGNORECASE)


class _Hidden:
    def __repr__(self) -> str:
        return "(hidden)"


HIDDEN = _Hidden()


def looks_secret(value: str) -> bool:
    """A PEM block, a JWT or a URL with a password in it."""
    return bool(_PEM.search(value) or _JWT.search(value) or _URL_CREDENTIALS.search(value))


def _text(key: str, value: Any) -> str:
    """`pulumi config set --path` stores numbers and booleans as such: Aidbox reads strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    fail(key, HIDDEN, "a string, number or boolean (env values are text)")


def parse_env(s: Section) -> tuple[tuple[str, str], ...]:
    """The map as sorted (name, value) pairs; refuses managed names and anything secret."""
    raw: Mapping[str, Any] = s.section("env").data
    env = []
    for name, value in raw.items():
        key = f"{s.key('env')}.{name}"
        if not _ENV_NAME.match(name):
            fail(key, HIDDEN, "an env var name: A-Z, 0-9 and '_', not starting with a digit")
        if name in MANAGED_ENV or name.startswith(MANAGED_ENV_PREFIXES):
            where = (
                " from aidbox.devMode, which production refuses"
                if name in DEV_MODE_ENV
                else " (or read from the secret store)"
            )
            fail(key, HIDDEN, f"{name} is set by the program{where}: remove it from aidbox.env")
        if value is None:
            fail(key, None, "a value")
        text = _text(key, value)
        if SECRET_LOOKING_NAME.search(name) or looks_secret(text):
            fail(
                key,
                HIDDEN,
                "looks like a secret: aidbox.env is plain text in the Deployment. Keep it in "
                "the secret store (`secrets`) and read it from a file (secret reference) instead",
            )
        env.append((name, text))
    return tuple(sorted(env))


def parse_java_opts(s: Section) -> tuple[int, str | None]:
    """aidbox.heapPercentage and aidbox.javaOpts (further JVM flags, plain text)."""
    heap = s.integer("heapPercentage", DEFAULT_HEAP_PERCENTAGE, minimum=25, maximum=90)
    extra = s.string("javaOpts")
    if extra is None:
        return heap, None
    if _SECRET_WORD.search(extra) or looks_secret(extra):
        s.fail(
            "javaOpts",
            HIDDEN,
            "JVM flags without a secret: JAVA_OPTS is plain text in the Deployment",
        )
    if _HEAP_FLAG.search(extra):
        s.fail(
            "javaOpts",
            extra,
            "flags without a heap size: aidbox.heapPercentage sets -XX:MaxRAMPercentage "
            "(a share of aidbox.memoryLimit)",
        )
    return heap, extra


def turns_on(value: str) -> bool:
    """Whether a switch's text is anything but off: Aidbox is not asked how it reads "1"."""
    return value.strip().lower() != "false"


def dev_mode_problems(env: tuple[tuple[str, str], ...]) -> list[tuple[str, object, str]]:
    """Production: a development switch in aidbox.env that is not "false"."""
    return [
        (
            f"aidbox.env.{name}",
            value,
            "false or unset on production: a development switch of Aidbox (debug traces, "
            "acting as another user, reloading code)",
        )
        for name, value in env
        if name in DEV_MODE_ENV and turns_on(value)
    ]
