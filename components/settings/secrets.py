"""`secrets`: what the store holds, where each secret may be used, what is mirrored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import naming
from .reader import Section, Sensitive, fail
from .values import k8s_object_name, secret_data_key

# Secrets the program writes itself in Aidbox's namespace: a synced Secret must not take over
# one (the driver and Pulumi would overwrite each other).
PROGRAM_SECRETS = (
    naming.AIDBOX_CREDENTIALS_SECRET,
    naming.POSTGRES,
    naming.SP_CREDENTIALS_SECRET,
)

# Resource types whose fields Aidbox resolves secret references for.
SCOPE_RESOURCE_TYPES = ("Client", "IdentityProvider", "TokenIntrospector", "AidboxTopicDestination")
_SCOPE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR id


@dataclass(frozen=True)
class Scope:
    resource_type: str
    id: str | None = None

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.id}" if self.id else self.resource_type


@dataclass(frozen=True)
class SyncedSecret:
    """A Kubernetes Secret the CSI driver mirrors a mounted secret into."""

    name: str
    key: str


@dataclass(frozen=True)
class SecretSpec:
    name: str
    scope: Scope | None  # None: not for FHIR resources, only mirrored into a Kubernetes Secret
    value: Sensitive | None = None
    kubernetes_secret: SyncedSecret | None = None


def parse_scope(entry: Section) -> Scope:
    text: Any = entry.data.get("scope")
    allowed = (
        "'<ResourceType>' or '<ResourceType>/<id>' with ResourceType one of "
        f"{list(SCOPE_RESOURCE_TYPES)} (the types Aidbox resolves secret references for)"
    )
    if not isinstance(text, str) or not text:
        entry.fail("scope", text, allowed)
    parts = text.split("/")
    if len(parts) > 2 or not all(parts):
        entry.fail("scope", text, allowed)
    if parts[0] not in SCOPE_RESOURCE_TYPES:
        entry.fail("scope", text, allowed)
    if len(parts) == 2 and not _SCOPE_ID.match(parts[1]):
        entry.fail("scope", text, "the id after '/' must be a FHIR id (1-64 of A-Z a-z 0-9 - .)")
    return Scope(parts[0], parts[1] if len(parts) == 2 else None)


def parse_secrets(top: Section) -> tuple[SecretSpec, ...]:
    section = top.section("secrets")
    if not section.data:
        top.fail("secrets", top.data.get("secrets"), "at least one secret: {<name>: {scope: ...}}")
    specs = []
    for name in section.data:
        if not naming.is_valid_secret_name(name):
            fail(f"secrets.{name}", name, f"secret names are {naming.SECRET_NAME_RULE}")
        entry = section.section(name)
        entry.reject_unknown(("scope", "value", "kubernetesSecret"))
        scope = None
        if entry.has("scope") or not entry.has("kubernetesSecret"):
            scope = parse_scope(entry)
        synced = None
        if entry.has("kubernetesSecret"):
            target = entry.section("kubernetesSecret")
            target.reject_unknown(("name", "key"))
            synced = SyncedSecret(
                name=k8s_object_name(target, "name", None),
                key=secret_data_key(target, "key", name),
            )
            if synced.name in PROGRAM_SECRETS:
                target.fail(
                    "name",
                    synced.name,
                    f"a Secret name the program does not use itself (not {list(PROGRAM_SECRETS)})",
                )
        specs.append(SecretSpec(name, scope, entry.sensitive("value"), synced))
    _check_unique(section, specs)
    return tuple(specs)


def _check_unique(section: Section, specs: list[SecretSpec]) -> None:
    """Each synced Secret key, and each Client the init Bundle PUTs, belongs to one secret."""
    synced: dict[tuple[str, str], str] = {}
    clients: dict[str, str] = {}
    for spec in specs:
        entry = section.section(spec.name)
        if spec.kubernetes_secret is not None:
            slot = (spec.kubernetes_secret.name, spec.kubernetes_secret.key)
            if slot in synced:
                entry.fail(
                    "kubernetesSecret",
                    f"{slot[0]}/{slot[1]}",
                    f"already used by secrets.{synced[slot]}; each synced key must be unique",
                )
            synced[slot] = spec.name
        # A Client has one secret: two secrets for Client/<id> would make the init Bundle
        # PUT that Client twice. A type-wide scope (`Client`) PUTs nothing, so it may sit
        # beside `Client/<id>` scopes.
        if spec.scope and spec.scope.resource_type == "Client" and spec.scope.id:
            scope = str(spec.scope)
            if scope in clients:
                entry.fail(
                    "scope",
                    scope,
                    f"already the scope of secrets.{clients[scope]}: a Client has one secret, "
                    "give each Client/<id> to one secret",
                )
            clients[scope] = spec.name
