"""Secrets the program generates and keeps in the store beside the user's `secrets`: Aidbox's
token-signing keys, the database administrator's password and Aidbox's own database role's.
Their names are reserved. And who reads which: each reader is a ServiceAccount of its own that
mounts only its own secrets."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import fail
from .secrets import SecretSpec

# The Kubernetes Secret older versions had the CSI driver mirror the managed secrets into: no
# longer written (Aidbox's start script reads the files), still kept from users' mirrors.
MANAGED_KUBERNETES_SECRET = "aidbox-managed"
# The signing keys as one entry (components/aidbox/key_bundle.py): the RSA private key, its
# public key and the HS256 secret, so that a rotation is one write and every pod reads one
# version of all three.
AUTH_KEYS = "aidbox-auth-keys"
# The administrator's (the flexible server's administrator login, the in-cluster superuser):
# the name it always had, so an existing stack's store keeps its value.
DB_PASSWORD = "aidbox-db-password"
DB_APP_PASSWORD = "aidbox-db-app-password"  # Aidbox's own role (components/aidbox/db_role.py)
MANAGED_SECRETS = (AUTH_KEYS, DB_PASSWORD, DB_APP_PASSWORD)
# The three entries older versions kept the signing keys in. Still reserved: a Key Vault keeps
# them after the upgrade (the program never deletes a Key Vault secret), and a Vault stack may
# seed the bundle from them (vault.seedKeyBundleFromEntries).
AUTH_PRIVATE_KEY = "aidbox-auth-private-key"
AUTH_PUBLIC_KEY = "aidbox-auth-public-key"
AUTH_SECRET = "aidbox-auth-secret"
RETIRED_SECRETS = (AUTH_PRIVATE_KEY, AUTH_PUBLIC_KEY, AUTH_SECRET)
RESERVED_SECRETS = MANAGED_SECRETS + RETIRED_SECRETS

# Readers, by key: the key names the reader's SecretProviderClass and its store-side identity.
AIDBOX_READER = "aidbox"
DATABASE_READER = "database"


@dataclass(frozen=True)
class Reader:
    """A ServiceAccount that mounts some of the store's secrets, and which ones."""

    key: str
    service_account: str
    secrets: tuple[str, ...]


def store_readers(
    secrets: tuple[SecretSpec, ...], aidbox_account: str, database_account: str
) -> tuple[Reader, Reader]:
    """Aidbox reads the user's secrets, the signing keys and its own role's password; the
    database (its server's first start, and the role Job that sets Aidbox's role's password as
    the administrator) reads the two passwords. Neither reads the other's secrets beyond that:
    Aidbox never sees the administrator's password, the database never sees a key or a client
    secret. Aidbox's reader comes first: a store keeps its existing names for it."""
    database = (DB_PASSWORD, DB_APP_PASSWORD)
    aidbox = tuple(spec.name for spec in secrets if spec.name not in database)
    return (
        Reader(AIDBOX_READER, aidbox_account, (*aidbox, DB_APP_PASSWORD)),
        Reader(DATABASE_READER, database_account, database),
    )


def with_managed(secrets: tuple[SecretSpec, ...]) -> tuple[SecretSpec, ...]:
    """The user's secrets, then the managed ones; refuses a user secret that takes their place."""
    for spec in secrets:
        if spec.name in RESERVED_SECRETS:
            fail(
                f"secrets.{spec.name}",
                "(set)",
                f"{spec.name} is reserved: the program generates it (reserved names: "
                f"{list(RESERVED_SECRETS)})",
            )
        if spec.kubernetes_secret and spec.kubernetes_secret.name == MANAGED_KUBERNETES_SECRET:
            fail(
                f"secrets.{spec.name}.kubernetesSecret.name",
                MANAGED_KUBERNETES_SECRET,
                "reserved for the program's own secrets: pick another Secret name",
            )
    managed = tuple(SecretSpec(name, None, None, None, managed=True) for name in MANAGED_SECRETS)
    return secrets + managed
