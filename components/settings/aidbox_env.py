"""`aidbox.env`: further plain Aidbox settings, and what may never go there. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .reader import Section, fail

# Set by the program (components/aidbox/render.py), or secrets that come from the store.
# Deprecated aliases are listed too: Aidbox would read them in place of the managed name.
MANAGED_ENV = frozenset(
    {
        "BOX_ID",
        "BOX_WEB_PORT",
        "BOX_METRICS_PORT",
        "BOX_WEB_BASE_URL",
        "BOX_DB_HOST",
        "BOX_DB_PORT",
        "BOX_DB_DATABASE",
        "BOX_DB_USER",
        "BOX_DB_PASSWORD",
        "PGHOST",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "BOX_ADMIN_PASSWORD",
        "BOX_ROOT_CLIENT_SECRET",
        "BOX_LICENSE",
        "BOX_VAULT_CONFIG",
        "BOX_INIT_BUNDLE",
        "AIDBOX_SECRET_FILES_ENABLED",
        "AIDBOX_SECRET_FILES_DIRS",
        "BOX_SECURITY_AUTH_KEYS_PRIVATE",
        "BOX_SECURITY_AUTH_KEYS_PUBLIC",
        "BOX_SECURITY_AUTH_KEYS_SECRET",
        "BOX_AUTH_KEYS_PRIVATE",
        "BOX_AUTH_KEYS_PUBLIC",
        "BOX_AUTH_KEYS_SECRET",
        "BOX_SECURITY_DEV_MODE",
        "AIDBOX_DEV_MODE",
    }
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
            fail(
                key,
                HIDDEN,
                f"{name} is set by the program (or read from the secret store): remove it "
                "from aidbox.env",
            )
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
