"""`secrets`: what the store holds, where each secret may be used, what is mirrored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import naming
from .reader import Section, Sensitive, fail
from .values import k8s_name

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


def parse_scope(text: Any, key: str) -> Scope:
    allowed = (
        "'<ResourceType>' or '<ResourceType>/<id>' with ResourceType one of "
        f"{list(SCOPE_RESOURCE_TYPES)} (the types Aidbox resolves secret references for)"
    )
    if not isinstance(text, str) or not text:
        fail(key, text, allowed)
    parts = text.split("/")
    if len(parts) > 2 or not all(parts):
        fail(key, text, allowed)
    if parts[0] not in SCOPE_RESOURCE_TYPES:
        fail(key, text, allowed)
    if len(parts) == 2 and not _SCOPE_ID.match(parts[1]):
        fail(key, text, "the id after '/' must be a FHIR id (1-64 of A-Z a-z 0-9 - .)")
    return Scope(parts[0], parts[1] if len(parts) == 2 else None)


def parse_secrets(top: Section) -> tuple[SecretSpec, ...]:
    section = top.section("secrets")
    if not section.data:
        fail("secrets", top.data.get("secrets"), "at least one secret: {<name>: {scope: ...}}")
    specs = []
    for name in section.data:
        if not naming.is_valid_secret_name(name):
            fail(f"secrets.{name}", name, f"secret names are {naming.SECRET_NAME_RULE}")
        entry = section.section(name)
        entry.reject_unknown(("scope", "value", "kubernetesSecret"))
        scope = None
        if entry.has("scope") or not entry.has("kubernetesSecret"):
            scope = parse_scope(entry.data.get("scope"), entry.key("scope"))
        synced = None
        if entry.has("kubernetesSecret"):
            target = entry.section("kubernetesSecret")
            target.reject_unknown(("name", "key"))
            synced = SyncedSecret(
                name=k8s_name(target, "name", None),
                key=target.string("key", name) or name,
            )
        specs.append(SecretSpec(name, scope, entry.sensitive("value"), synced))
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        if spec.kubernetes_secret is None:
            continue
        slot = (spec.kubernetes_secret.name, spec.kubernetes_secret.key)
        if slot in seen:
            fail(
                f"secrets.{spec.name}.kubernetesSecret",
                f"{slot[0]}/{slot[1]}",
                f"already used by secrets.{seen[slot]}; each synced key must be unique",
            )
        seen[slot] = spec.name
    return tuple(specs)
