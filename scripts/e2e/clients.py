"""HTTP clients for the end-to-end run's servers: the API server (as its admin) and Vault (as its
root, or as a token it issued). Plain urllib, TLS verified against each server's CA."""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class Failed(AssertionError):
    """A promise of the program that the run found broken."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


def wait_for(what: str, probe: Callable[[], T], seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise Failed(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.5)


class Http:
    def __init__(self, base: str, context: ssl.SSLContext | None, headers: dict[str, str]):
        self.base, self.context, self.headers = base.rstrip("/"), context, headers

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={**self.headers, "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")


class Kube(Http):
    """The API server as the admin of servers.sh's kubeconfig (system:masters)."""

    def __init__(self) -> None:
        context = ssl.create_default_context(cafile=os.environ["E2E_CA_FILE"])
        context.load_cert_chain(os.environ["E2E_CLIENT_CERT"], os.environ["E2E_CLIENT_KEY"])
        super().__init__(os.environ["E2E_APISERVER"], context, {})
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def _discover(self, api_version: str, *, fresh: bool = False) -> dict[str, tuple[str, bool]]:
        """kind -> (plural, namespaced), from API discovery (again after CRDs are added)."""
        if fresh or api_version not in self._resources:
            status, body = self.call("GET", _prefix(api_version))
            if status == 404:  # a CRD's group that is gone (after destroy)
                return {}
            check(status == 200, f"API discovery of {api_version}: {status}")
            self._resources[api_version] = {
                r["kind"]: (r["name"], r["namespaced"])
                for r in body["resources"]
                if "/" not in r["name"]
            }
        return self._resources[api_version]

    def path(self, api_version: str, kind: str, name: str = "", namespace: str | None = None):
        if kind not in self._discover(api_version):
            self._discover(api_version, fresh=True)
        found = self._discover(api_version).get(kind)
        if found is None:
            return None
        plural, namespaced = found
        where = f"/namespaces/{namespace or 'default'}" if namespaced and namespace != "*" else ""
        return f"{_prefix(api_version)}{where}/{plural}" + (f"/{name}" if name else "")

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        """The object, or None when the API server has no such object (or kind)."""
        path = self.path(api_version, kind, name, namespace)
        if path is None:
            return None
        status, body = self.call("GET", path)
        if status == 404:
            return None
        check(status == 200, f"GET {kind} {namespace}/{name}: {status} {body}")
        return body

    def service_account_token(self, name: str, namespace: str, audience: str) -> str:
        """A TokenRequest token, as the kubelet asks for one for the CSI driver's pods."""
        status, body = self.call(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"audiences": [audience], "expirationSeconds": 600},
            },
        )
        check(status == 201, f"TokenRequest for {namespace}/{name}: {status} {body}")
        return body["status"]["token"]


def _prefix(api_version: str) -> str:
    return "/api/v1" if api_version == "v1" else f"/apis/{api_version}"


class Vault(Http):
    """Vault's HTTP API with a token (the root token of servers.sh unless given)."""

    def __init__(self, token: str | None = None) -> None:
        context = ssl.create_default_context(cafile=os.environ["VAULT_CACERT"])
        if token is None:
            token = Path(os.environ["E2E_VAULT_TOKEN_FILE"]).read_text().strip()
        super().__init__(
            os.environ["VAULT_ADDR"], context, {"X-Vault-Token": token} if token else {}
        )

    def login(self, mount: str, role: str, jwt: str) -> tuple[int, Any]:
        return Vault(token="").call("POST", f"/v1/auth/{mount}/login", {"role": role, "jwt": jwt})

    def kv_read(self, api_path: str) -> dict[str, str] | None:
        """The data of a KV v2 secret at its API path (`<mount>/data/<path>`), or None."""
        status, body = self.call("GET", f"/v1/{api_path}")
        if status == 404:
            return None
        check(status == 200, f"GET {api_path}: {status} {body}")
        return body["data"]["data"]

    def kv_patch(self, api_path: str, values: dict[str, str]) -> None:
        """`vault kv patch`: changes the given keys only, as an operator rotates a value."""
        status, body = self.call(
            "PATCH", f"/v1/{api_path}", {"data": values}, "application/merge-patch+json"
        )
        check(status == 200, f"vault kv patch {api_path}: {status} {body}")

    def kv_paths(self, mount: str, prefix: str = "") -> Iterator[str]:
        """Every KV v2 secret path under the mount (metadata listing, recursively)."""
        status, body = self.call("LIST", f"/v1/{mount}/metadata/{urllib.parse.quote(prefix)}")
        if status == 404:
            return
        check(status == 200, f"LIST {mount}/metadata/{prefix}: {status} {body}")
        for key in body["data"]["keys"]:
            if key.endswith("/"):
                yield from self.kv_paths(mount, prefix + key)
            else:
                yield prefix + key

    def inventory(self) -> dict[str, list[str]]:
        """What a program could have created here: auth mounts, secrets engines, ACL policies,
        audit devices and KV v2 secrets (of every kv v2 mount)."""
        _, auths = self.call("GET", "/v1/sys/auth")
        _, mounts = self.call("GET", "/v1/sys/mounts")
        _, policies = self.call("LIST", "/v1/sys/policies/acl")
        _, audits = self.call("GET", "/v1/sys/audit")
        kv = [
            f"{path}{secret}"
            for path, mount in mounts["data"].items()
            if mount["type"] == "kv" and (mount.get("options") or {}).get("version") == "2"
            for secret in self.kv_paths(path.rstrip("/"))
        ]
        return {
            "auth": sorted(auths["data"]),
            "mounts": sorted(mounts["data"]),
            "policies": sorted(policies["data"]["keys"]),
            "audit": sorted((audits or {}).get("data") or {}),
            "kv": sorted(kv),
        }
