"""Checks shared by every section: names, images, quantities, durations, CIDRs. Pure."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .. import naming
from .reader import Section

UNPINNED_TAGS = ("latest", "edge", "stable")

# Go's time.ParseDuration: a sequence of decimal numbers, each with a unit (the driver and the
# AKS add-on parse the interval with it). "\u00b5s" (micro sign) and "\u03bcs" (mu) are us.
_DURATION_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "\u00b5s": Decimal("1e-6"),
    "\u03bcs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")

# Kubernetes resource.Quantity: a signed decimal number and an optional binary-SI (Ki..Ei),
# decimal-SI (m, k, M..E) or exponent (e3, E-2) suffix.
_K8S_QUANTITY = re.compile(
    r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$", re.ASCII
)
_BINARY_SI = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SI = {"m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
MEBIBYTE = Decimal(1024**2)

# Container image references (the distribution/reference grammar Kubernetes and containerd
# use): [host[:port]/]path[:tag][@digest]. Only sha256 digests are accepted.
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# A first component is a registry host only with a '.', a port or as localhost (as Docker and
# containerd read it): "HealthSamurai/aidbox" is a typo, not a registry called HealthSamurai.
_DOMAIN = (
    rf"(?:localhost|{_DOMAIN_PART}(?:\.{_DOMAIN_PART})+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
    rf"|{_DOMAIN_PART}:[0-9]+"
)
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"^(?P<name>(?:(?:{_DOMAIN})/)?{_PATH_PART}(?:/{_PATH_PART})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$",
    re.ASCII,
)
IMAGE_RULE = (
    "an image reference [registry[:port]/]repository[:tag][@sha256:<64 hex>] (lower-case "
    "repository): pin a tag (1-128 of letters, digits, '_', '.', '-', not starting with '.' "
    f"or '-'; not {list(UNPINNED_TAGS)}) or a sha256 digest"
)

# Kubernetes Secret and ConfigMap data keys.
SECRET_KEY_RULE = "1-253 of letters, digits, '-', '_' and '.', not '.', '..' or '..'-prefixed"
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")

# Vault names: roles follow Vault's generic name pattern (\w([\w.-]*\w)?); policies too, and
# Vault stores policy names in lower case, so an upper-case name would never match its state.
VAULT_ROLE_RULE = (
    "letters, digits, '_', '-' and '.', starting and ending with a letter, digit or '_'"
)
_VAULT_ROLE = re.compile(r"^\w(?:[\w.-]*\w)?$", re.ASCII)
VAULT_POLICY_RULE = (
    "lower-case letters, digits, '_', '-' and '.', starting and ending with a letter, digit "
    "or '_'; not 'root' or 'default' (Vault's own policies)"
)
_VAULT_POLICY = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$")
VAULT_RESERVED_POLICIES = ("root", "default")

AZURE_LOCATION_RULE = (
    "an Azure region such as westeurope or 'West Europe' "
    "(pulumi config set azure-native:location westeurope)"
)
_AZURE_LOCATION = re.compile(r"^[a-z][a-z0-9]+$")


GUID_RULE = "a GUID such as 00000000-0000-0000-0000-000000000000"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def is_guid(text: str) -> bool:
    return bool(_GUID.match(text))


def http_url_problem(text: str) -> str | None:
    """Why `text` is not an http(s) base URL (host, optional port and path prefix), or None."""
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "a URL such as https://vault.example:8200"
    if url.scheme not in ("http", "https") or not url.hostname or re.search(r"\s", text):
        return "a URL such as https://vault.example:8200 (http or https)"
    if url.username or url.password:
        return "a URL without credentials (the token goes in vault.token)"
    if url.query or url.fragment or "?" in text or "#" in text:
        return "a URL without query or fragment (a path prefix is fine)"
    return None


VAULT_PATH_RULE = "segments of letters, digits, '-', '_' and '.' joined by '/' (no '.' or '..')"
_VAULT_PATH = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")


def is_vault_path(text: str) -> bool:
    """A Vault mount or KV path without leading or trailing '/' that cannot climb ('..')."""
    return bool(_VAULT_PATH.match(text)) and not {".", ".."} & set(text.split("/"))


def duration_seconds(text: str) -> Decimal | None:
    """Seconds in an unsigned Go duration ("30s", "1.5m", "1h30m", "0"), None if not one."""
    body = text
    if body == "0":
        return Decimal(0)
    total, position = Decimal(0), 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None:
            return None
        total += Decimal(match[1]) * _DURATION_UNITS[match[2]]
        position = match.end()
    return total if body else None


def quantity_value(text: str) -> Decimal | None:
    """The amount a Kubernetes quantity stands for ("500m" -> 0.5, "4Gi" -> 4294967296)."""
    match = _K8S_QUANTITY.match(text)
    if not match:
        return None
    try:
        number = Decimal(match[1])
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
    suffix = match[2] or ""
    if suffix in _BINARY_SI:
        return number * Decimal(1024) ** _BINARY_SI[suffix]
    if suffix in _DECIMAL_SI:
        return number.scaleb(_DECIMAL_SI[suffix])
    if suffix:
        return number.scaleb(int(suffix[1:]))
    return number


def image_problem(reference: str) -> str | None:
    """Why `reference` is not a pinned container image reference, or None."""
    match = _IMAGE.match(reference)
    if not match or len(match["name"]) > 255:
        return IMAGE_RULE
    if match["digest"] is None and (match["tag"] is None or match["tag"] in UNPINNED_TAGS):
        return IMAGE_RULE
    return None


def normal_cidr(text: str) -> str | None:
    """A CIDR in canonical form: a bare address becomes /32 (IPv4) or /128 (IPv6), host bits
    are cleared ("203.0.113.7/24" -> "203.0.113.0/24"). None if `text` is not one."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        return None


def is_secret_data_key(key: str) -> bool:
    return bool(_SECRET_KEY.match(key)) and key not in (".", "..") and not key.startswith("..")


def vault_name_problem(name: str, kind: str) -> str | None:
    if kind == "policy":
        ok = bool(_VAULT_POLICY.match(name)) and name not in VAULT_RESERVED_POLICIES
        return None if ok else VAULT_POLICY_RULE
    return None if _VAULT_ROLE.match(name) else VAULT_ROLE_RULE


def azure_location(text: Any) -> str | None:
    """Azure's name for a region, also from its display name ("West Europe" -> westeurope)."""
    if not isinstance(text, str):
        return None
    name = re.sub(r"\s+", "", text).lower()
    return name if _AZURE_LOCATION.match(name) else None


def image(section: Section, name: str, default: str) -> str:
    value = section.string(name, default)
    assert value is not None
    problem = image_problem(value)
    if problem:
        section.fail(name, value, problem)
    return value


def quantity(section: Section, name: str, default: str, *, kind: str) -> str:
    """A positive Kubernetes quantity; a number from `pulumi config set --path` is accepted.
    kind: `cpu` (at least 1m) or `bytes` (memory, storage: at least 1Mi, no `m` suffix)."""
    raw = section.data.get(name)
    if raw is None:
        raw = default
    text = str(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else raw
    if kind == "cpu":
        allowed = "a CPU quantity of at least 1m, such as 500m, 2 or 1.5"
        minimum = Decimal("0.001")
    else:
        allowed = (
            "a byte quantity of at least 1Mi, such as 512Mi, 4Gi or 4G (M, not m: m is 1/1000)"
        )
        minimum = MEBIBYTE
    amount = quantity_value(text) if isinstance(text, str) else None
    if amount is None or amount < minimum or (kind != "cpu" and text.endswith("m")):
        section.fail(name, raw, f"a Kubernetes quantity: {allowed}")
    return text


def k8s_name(section: Section, name: str, default: str | None) -> str:
    value = section.string(name, default)
    if value is None:
        section.fail(name, None, f"required: {naming.K8S_NAME_RULE}")
    if not naming.is_valid_k8s_name(value):
        section.fail(name, value, naming.K8S_NAME_RULE)
    return value


def k8s_object_name(section: Section, name: str, default: str | None) -> str:
    """A name for a namespaced object (Secret, ServiceAccount): a DNS-1123 subdomain."""
    value = section.string(name, default)
    if value is None:
        section.fail(name, None, f"required: {naming.K8S_SUBDOMAIN_RULE}")
    if not naming.is_valid_k8s_subdomain(value):
        section.fail(name, value, naming.K8S_SUBDOMAIN_RULE)
    return value


def secret_data_key(section: Section, name: str, default: str) -> str:
    value = section.string(name, default)
    assert value is not None
    if not is_secret_data_key(value):
        section.fail(name, value, f"a Kubernetes Secret key: {SECRET_KEY_RULE}")
    return value


def vault_name(section: Section, name: str, default: str, *, kind: str) -> str:
    value = section.string(name, default)
    assert value is not None
    problem = vault_name_problem(value, kind)
    if problem:
        section.fail(name, value, f"a Vault {kind} name: {problem}")
    return value


def cidr_list(section: Section, name: str) -> tuple[str, ...]:
    cidrs = []
    for text in section.string_list(name):
        cidr = normal_cidr(text)
        if cidr is None:
            section.fail(name, text, "a CIDR such as 203.0.113.7/32 (a bare IP means /32)")
        cidrs.append(cidr)
    return tuple(cidrs)


def cidr(section: Section, name: str, default: str) -> str:
    """One IPv4 network of an address plan: host bits set is refused, not cleared (in a plan
    "10.240.1.0/16" is a typo, not a network)."""
    value = section.string(name, default)
    assert value is not None
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        network = None
    if network is None or network.version != 4 or "/" not in value:
        section.fail(name, value, "an IPv4 CIDR such as 10.240.0.0/16 (no host bits set)")
    return str(network)


def cidrs(section: Section, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """IPv4 CIDRs (`cidr_list`: a bare address means /32), without duplicates; `default`
    when the key is absent (an empty list stays empty)."""
    if not section.has(name):
        return default
    found = tuple(dict.fromkeys(cidr_list(section, name)))
    for value in found:
        if ipaddress.ip_network(value).version != 4:
            section.fail(name, value, "IPv4 CIDRs (Azure's IP rules take no IPv6 here)")
    return found
