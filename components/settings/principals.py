"""Entra ID principals named in config (cluster admins, Key Vault secrets officers): object ids
and principal types, checked before any resource exists. The program grants them their role;
it grants nothing to whoever runs `pulumi up`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .reader import Section
from .values import GUID_RULE, is_guid

# Azure's principalType: stated, not looked up (a just-created principal may not have
# replicated yet), and checked by Azure (UnmatchedPrincipalType when it is wrong).
PRINCIPAL_TYPES = ("Group", "User", "ServicePrincipal")
NIL_GUID = "00000000-0000-0000-0000-000000000000"
OBJECT_ID_RULE = (
    f"an Entra ID object id, {GUID_RULE} (a group: az ad group show --group <name> --query id "
    "-o tsv; a user: az ad user show --id <upn> --query id -o tsv; a service principal or "
    "managed identity: its principal id)"
)
PRINCIPALS_RULE = f"a list of {{objectId, type}}, type one of {list(PRINCIPAL_TYPES)}"


@dataclass(frozen=True)
class Principal:
    object_id: str  # lower case, as Entra ID shows it
    type: str  # one of PRINCIPAL_TYPES


def object_id(s: Section, name: str, value: str) -> str:
    if not is_guid(value):
        s.fail(name, value, OBJECT_ID_RULE)
    if value == NIL_GUID:
        s.fail(name, value, "the nil GUID names no principal: replace the placeholder")
    return value.lower()


def _principal(s: Section, name: str, entry: object) -> Principal:
    if not isinstance(entry, Mapping):
        s.fail(name, entry, "expected {objectId, type}")
    item = Section(s.key(name), entry, s.secret, s.secret_keys)
    item.reject_unknown(("objectId", "type"))
    oid = object_id(item, "objectId", item.required_string("objectId", OBJECT_ID_RULE))
    raw_type = item.required_string("type", f"one of {list(PRINCIPAL_TYPES)}")
    canonical = {t.lower(): t for t in PRINCIPAL_TYPES}.get(raw_type.lower())
    if canonical is None:
        item.fail("type", raw_type, f"expected one of {list(PRINCIPAL_TYPES)}")
    return Principal(oid, canonical)


def parse_principals(
    s: Section, name: str, known: Iterable[Principal] = ()
) -> tuple[Principal, ...]:
    """`s.<name>`: a list of {objectId, type}. A principal already `known` (or listed twice)
    is kept once; the same object id with another type is refused."""
    raw = s.data.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        s.fail(name, raw, f"expected {PRINCIPALS_RULE}")
    found = {p.object_id: p for p in known}
    listed: list[Principal] = []
    for index, entry in enumerate(raw):
        key = f"{name}[{index}]"
        principal = _principal(s, key, entry)
        seen = found.get(principal.object_id)
        if seen is not None and seen.type != principal.type:
            Section(s.key(key), entry, s.secret, s.secret_keys).fail(
                "type",
                principal.type,
                f"{principal.object_id} is a {seen.type} (listed as one already, or in "
                "adminGroupObjectIds, which holds groups)",
            )
        if seen is None:
            found[principal.object_id] = principal
            listed.append(principal)
    return tuple(listed)
