"""What the program needs from a user's kubeconfig (cluster.mode kubeconfig): the API server,
its CA, and how the user authenticates. Pure: text in, values out; files it names are read."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """A kubeconfig the program cannot use; the message never contains a credential."""


@dataclass(frozen=True)
class KubeEndpoint:
    """One context of a kubeconfig, resolved: where the API server is and its CA (the
    user's credentials stay with the Kubernetes provider, which reads the kubeconfig itself)."""

    context: str
    server: str
    ca_pem: str


def _named(items: Any, name: str, what: str) -> dict:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get(what) or {}
    raise KubeconfigError(f"the kubeconfig has no {what} named {name!r}")


def _data(entry: dict, key: str, base: Path | None) -> str | None:
    """`<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig's folder)."""
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"]).decode()
    if entry.get(key):
        path = Path(entry[key]).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            return path.read_text()
        except OSError as error:
            raise KubeconfigError(f"cannot read {key} file {path}: {error.strerror}") from None
    return None


def parse_kubeconfig(text: str, context: str | None, base: Path | None = None) -> KubeEndpoint:
    """The endpoint of `context` (or the current context). `base` is the folder relative file
    paths in the kubeconfig are read from."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeconfigError("the kubeconfig is not YAML") from None
    if not isinstance(doc, dict) or doc.get("kind", "Config") != "Config":
        raise KubeconfigError("not a kubeconfig (expected kind: Config)")
    name = context or doc.get("current-context")
    if not name:
        raise KubeconfigError("the kubeconfig has no current-context: name one")
    ctx = _named(doc.get("contexts"), name, "context")
    cluster = _named(doc.get("clusters"), ctx.get("cluster", ""), "cluster")
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise KubeconfigError(f"context {name!r}: the API server must be an https:// URL")
    if cluster.get("insecure-skip-tls-verify"):
        raise KubeconfigError(
            f"context {name!r} skips TLS verification: give the cluster's CA "
            "(certificate-authority-data) instead"
        )
    ca = _data(cluster, "certificate-authority", base)
    if not ca:
        raise KubeconfigError(f"context {name!r}: the cluster has no certificate-authority")
    return KubeEndpoint(
        context=name,
        server=server.rstrip("/"),
        ca_pem=ca,
    )


def read_kubeconfig(path: str) -> tuple[str, Path]:
    """A kubeconfig file's text and its folder."""
    file = Path(path).expanduser()
    try:
        return file.read_text(), file.parent
    except OSError as error:
        raise KubeconfigError(f"cannot read {file}: {error.strerror}") from None
