"""Secrets the program generates and keeps in the store beside the user's `secrets`: Aidbox's
token-signing keys, the database administrator's password and Aidbox's own database role's.
Their names are reserved."""

from __future__ import annotations

from .reader import fail
from .secrets import SecretSpec, SyncedSecret

# The Kubernetes Secret the CSI driver mirrors them into, for Aidbox's env (secretKeyRef).
MANAGED_KUBERNETES_SECRET = "aidbox-managed"
AUTH_PRIVATE_KEY = "aidbox-auth-private-key"  # PEM RSA private key, signs JWTs (RS256)
AUTH_PUBLIC_KEY = "aidbox-auth-public-key"  # its PEM public key
AUTH_SECRET = "aidbox-auth-secret"  # HS256 secret
# The administrator's (the flexible server's administrator login, the in-cluster superuser):
# the name it always had, so an existing stack's store keeps its value.
DB_PASSWORD = "aidbox-db-password"
DB_APP_PASSWORD = "aidbox-db-app-password"  # Aidbox's own role (components/aidbox/db_role.py)
MANAGED_SECRETS = (AUTH_PRIVATE_KEY, AUTH_PUBLIC_KEY, AUTH_SECRET, DB_PASSWORD, DB_APP_PASSWORD)


def with_managed(secrets: tuple[SecretSpec, ...]) -> tuple[SecretSpec, ...]:
    """The user's secrets, then the managed ones; refuses a user secret that takes their place."""
    for spec in secrets:
        if spec.name in MANAGED_SECRETS:
            fail(
                f"secrets.{spec.name}",
                "(set)",
                f"{spec.name} is reserved: the program generates it (reserved names: "
                f"{list(MANAGED_SECRETS)})",
            )
        if spec.kubernetes_secret and spec.kubernetes_secret.name == MANAGED_KUBERNETES_SECRET:
            fail(
                f"secrets.{spec.name}.kubernetesSecret.name",
                MANAGED_KUBERNETES_SECRET,
                "reserved for the program's own secrets: pick another Secret name",
            )
    managed = tuple(
        SecretSpec(name, None, None, SyncedSecret(MANAGED_KUBERNETES_SECRET, name), managed=True)
        for name in MANAGED_SECRETS
    )
    return secrets + managed
