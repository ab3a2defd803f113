"""How the deployer reaches an in-cluster Vault: through the Kubernetes API server's service
proxy (stores/vault/proxy.py holds the account it uses there). Pure: plain values in, plain
values out (`write_ca_file` writes the one file the Vault provider needs)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..local_files import write_atomically


def service_proxy_address(
    api_server_url: str, *, namespace: str, service: str, port: int, scheme: str
) -> str:
    """`https://<api server>/api/v1/namespaces/<ns>/services/<scheme>:<svc>:<port>/proxy`.

    Vault's API client joins each request path onto the address path
    (`path.Join(addr.Path, requestPath)` in api/client.go), so `/v1/...` lands behind the
    proxy prefix."""
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme must be http or https, not {scheme!r}")
    base = api_server_url.rstrip("/")
    return f"{base}/api/v1/namespaces/{namespace}/services/{scheme}:{service}:{port}/proxy"


def ca_file_path(pem: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Where a cluster CA is written for the Vault provider's `ca_cert_file` (it takes only a
    path): named by the CA's digest, so every run against this cluster finds the same path and
    two clusters never share one; in the user's cache folder (XDG), not a temporary one, since
    the path is kept in the state and read again by later runs."""
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    cache = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", "~")) / ".cache")
    return Path(cache).expanduser() / "aidbox-secrets" / "ca" / f"api-server-{digest}.pem"


def write_ca_file(path: Path, pem: str) -> str:
    """Write a (public) CA certificate, unless it is already there; return the path."""
    if path.is_file() and path.read_text() == pem:
        return str(path)
    return write_atomically(path, pem, mode=0o644)


def vault_server_dns_names(release: str, namespace: str, replicas: int) -> list[str]:
    """Every name the Vault server is reached by: the Services (pods), each pod by its
    headless name (Raft retry_join), and the short forms."""
    services = [release, f"{release}-active", f"{release}-standby"]
    names = []
    for service in services:
        names += [
            service,
            f"{service}.{namespace}",
            f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local",
        ]
    internal = f"{release}-internal"
    for i in range(replicas):
        names += [f"{release}-{i}.{internal}", f"{release}-{i}.{internal}.{namespace}.svc"]
    return names


def vault_port(address: str) -> int:
    """The TCP port an http(s) Vault address is reached on."""
    url = urlsplit(address)
    return url.port or (443 if url.scheme == "https" else 80)
