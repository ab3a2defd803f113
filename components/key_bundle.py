"""Aidbox's token-signing keys as one store entry (`aidbox-auth-keys`): the PEM private key, its
PEM public key and the HS256 secret in a PEM-style block of its own, one after the other. Pure.

One entry, so that a rotation is one write to the store (one Key Vault secret version, one
Vault KV version) and the CSI driver hands every pod one version of all three: a pod started
while someone rotates, or a rotation poll between two writes, never sees a private key with
another key's public half (Aidbox refuses to start on a mismatched pair, and replicas with
different keys refuse each other's tokens). Aidbox reads the three from env vars only, so its
start script (start.py) splits the mounted file; docs/operations.md, "Rotate" writes one with
openssl.

    -----BEGIN RSA PRIVATE KEY-----      (or EC PRIVATE KEY, or PRIVATE KEY: Aidbox takes RSA
    ...                                   and EC keys, configure-aidbox-and-multibox.md)
    -----END RSA PRIVATE KEY-----
    -----BEGIN PUBLIC KEY-----
    ...
    -----END PUBLIC KEY-----
    -----BEGIN AIDBOX HS256 SECRET-----
    <the secret, one line>
    -----END AIDBOX HS256 SECRET-----
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECRET_LABEL = "AIDBOX HS256 SECRET"
SECRET_BEGIN = f"-----BEGIN {SECRET_LABEL}-----"
SECRET_END = f"-----END {SECRET_LABEL}-----"
# What Aidbox needs from each part, and what the start script looks for (the same patterns).
_PRIVATE = re.compile(r"^-----BEGIN [A-Z ]*PRIVATE KEY-----$")
_PUBLIC = "-----BEGIN PUBLIC KEY-----"
_SECRET_VALUE = re.compile(r"^[!-~]+$")  # printable ASCII, no spaces: one env value, one line


@dataclass(frozen=True)
class KeyBundle:
    private_key: str  # PEM, without a trailing newline (as the start script exports it)
    public_key: str
    secret: str


def _block(pem: str, what: str) -> str:
    text = pem.strip().replace("\r\n", "\n")
    lines = text.split("\n")
    if (
        len(lines) < 3
        or not lines[0].startswith("-----BEGIN ")
        or not lines[-1].startswith("-----END ")
    ):
        raise ValueError(f"the {what} is not one PEM block")
    return text


def compose(private_key_pem: str, public_key_pem: str, secret: str) -> str:
    """The bundle's text, ending in a newline."""
    private = _block(private_key_pem, "private key")
    public = _block(public_key_pem, "public key")
    if not _PRIVATE.match(private.split("\n")[0]):
        raise ValueError("the private key's PEM block is not a private key")
    if public.split("\n")[0] != _PUBLIC:
        raise ValueError(f"the public key's PEM block does not start with {_PUBLIC}")
    if not _SECRET_VALUE.match(secret):
        raise ValueError("the HS256 secret must be one line of printable ASCII, no spaces")
    return f"{private}\n{public}\n{SECRET_BEGIN}\n{secret}\n{SECRET_END}\n"


def parse(text: str) -> KeyBundle:
    """The three parts of a bundle, as the start script reads them; a ValueError names what is
    missing, never a value."""
    parts: dict[str, list[str]] = {"private": [], "public": [], "secret": []}
    block = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if _PRIVATE.match(line):
            block = "private"
        elif line == _PUBLIC:
            block = "public"
        elif line == SECRET_BEGIN:
            block = "secret"
            continue
        elif line == SECRET_END:
            block = None
            continue
        if block is not None:
            parts[block].append(line)
        if line.startswith("-----END "):
            block = None
    names = {"private": "private key", "public": "public key", "secret": "HS256 secret"}
    missing = [names[k] for k, lines in parts.items() if not lines]
    if missing:
        raise ValueError(f"the key bundle has no {', no '.join(missing)}")
    return KeyBundle(
        "\n".join(parts["private"]), "\n".join(parts["public"]), "".join(parts["secret"])
    )
