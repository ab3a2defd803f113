"""The Vault client of the pulumi-vault stand-in (vault_provider.py), E2E ONLY.

Set up as terraform-provider-vault sets up its own (internal/provider/meta.go: NewProviderMeta
only keeps the configuration; the first resource operation runs setClient through
getClient/GetClient): the address, TLS from `ca_cert_file` and `client_auth`
(ConfigureTLS), `headers`, the token looked up (`auth/token/lookup-self`), a child token unless
`skip_child_token` (createChildToken), the namespace. So a stale token, or a CA file that is not
there any more, fails the first operation that needs Vault, with the real provider's message.
Every value falls back to its environment variable as GetResourceDataStr and friends do.
Not implemented (refused when set): auth_login*, ca_cert_dir, tls_server_name, token helpers;
nor the namespace taken from the token (Vault Enterprise; meta.go changed only there between
v5.10.1 and v5.11.0).
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .protocol import Failure

# Settings that reach the stand-in and that it honours (the engine's own are dropped before).
CONFIG_KEYS = frozenset(
    {
        "address",
        "token",
        "namespace",
        "caCertFile",
        "headers",
        "clientAuth",
        "skipChildToken",
        "skipTlsVerify",
        "maxLeaseTtlSeconds",
        "maxRetries",
        "tokenName",
    }
)


JSON_KEYS = CONFIG_KEYS - {"address", "token", "namespace", "caCertFile", "tokenName"}


def _setting(config: dict[str, Any], key: str) -> Any:
    """The SDK sends every setting that is not a string as JSON text (pulumi_vault/provider.py:
    `pulumi.runtime.to_json`)."""
    value = config.get(key)
    return json.loads(value) if isinstance(value, str) and key in JSON_KEYS else value


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").lower()
    return value in ("1", "t", "true") if value else default


class VaultError(Failure):
    def __init__(self, status: int, message: str, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status, self.body = status, body

    @property
    def errors(self) -> list[str]:
        return list(self.body.get("errors") or [])


@dataclass
class Settings:
    address: str
    token: str
    namespace: str
    ca_cert_file: str
    client_cert: str
    client_key: str
    headers: list[dict[str, str]]
    skip_child_token: bool
    insecure: bool
    child_ttl: int
    token_name: str

    @classmethod
    def of(cls, config: dict[str, Any]) -> Settings:
        client_auth = _setting(config, "clientAuth")
        env = os.environ.get
        skip_child_token = _setting(config, "skipChildToken")
        return cls(
            address=config.get("address") or env("VAULT_ADDR", ""),
            token=config.get("token") or env("VAULT_TOKEN", ""),
            namespace=config.get("namespace") or env("VAULT_NAMESPACE", ""),
            ca_cert_file=config.get("caCertFile") or env("VAULT_CACERT", ""),
            # Only with a client_auth block (setClient), then from it or the environment.
            client_cert=(client_auth.get("certFile") or env("VAULT_CLIENT_CERT", ""))
            if client_auth
            else "",
            client_key=(client_auth.get("keyFile") or env("VAULT_CLIENT_KEY", ""))
            if client_auth
            else "",
            headers=_setting(config, "headers") or [],
            skip_child_token=skip_child_token
            if skip_child_token is not None
            else _env_bool("TERRAFORM_VAULT_SKIP_CHILD_TOKEN", False),
            insecure=bool(_setting(config, "skipTlsVerify")),
            child_ttl=int(_setting(config, "maxLeaseTtlSeconds") or 1200),
            token_name=config.get("tokenName") or env("VAULT_TOKEN_NAME", "terraform"),
        )


class Client:
    """Vault's HTTP API, as the Go client (vault/api) calls it."""

    def __init__(self, settings: Settings) -> None:
        if not settings.address:
            raise Failure("failed to configure Vault address")
        self.base = settings.address.rstrip("/")
        self.context = self._tls(settings)
        self.headers = {h["name"]: h["value"] for h in settings.headers if "name" in h}
        self.token = settings.token
        if not self.token:
            raise Failure("no vault token set on Client")
        if settings.namespace:
            self.headers["X-Vault-Namespace"] = settings.namespace
        try:
            self.call("GET", "auth/token/lookup-self")
        except Failure as error:
            raise Failure(f"failed to lookup token, err={error}") from error
        if not settings.skip_child_token:
            self.token = self._child_token(settings)

    @staticmethod
    def _tls(settings: Settings) -> ssl.SSLContext | None:
        """api.Config.ConfigureTLS: only the given CA is trusted (go-rootcerts), the client
        certificate and key must come together."""
        if not settings.address.startswith("https:"):
            return None
        try:
            if bool(settings.client_cert) != bool(settings.client_key):
                raise Failure("both client cert and client key must be provided")
            context = ssl.create_default_context()
            if settings.ca_cert_file:
                try:
                    pem = Path(settings.ca_cert_file).read_text()
                except OSError as error:
                    raise Failure(
                        f"Error loading CA File: open {settings.ca_cert_file}: "
                        f"{os.strerror(error.errno or 0).lower()}"
                    ) from error
                try:
                    context = ssl.create_default_context(cadata=pem)
                except (ssl.SSLError, ValueError) as error:
                    raise Failure(
                        f"Error loading CA File: Couldn't parse PEM in: {settings.ca_cert_file}"
                    ) from error
            if settings.client_cert:
                try:
                    context.load_cert_chain(settings.client_cert, settings.client_key)
                except OSError as error:
                    reason = os.strerror(error.errno or 0).lower()
                    raise Failure(f"open {error.filename}: {reason}") from error
            if settings.insecure:
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            return context
        except Failure as error:
            raise Failure(f"failed to configure TLS for Vault API: {error}") from error

    def _child_token(self, settings: Settings) -> str:
        """createChildToken: a token for this run only, non-renewable, max_lease_ttl_seconds."""
        ttl = f"{settings.child_ttl}s"
        body = {
            "display_name": settings.token_name,
            "ttl": ttl,
            "explicit_max_ttl": ttl,
            "renewable": False,
        }
        try:
            return self.call("POST", "auth/token/create", body)["auth"]["client_token"]
        except Failure as error:
            raise Failure(f"failed to create limited child token: {error}") from error

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The response's JSON ({} when empty); a VaultError like the Go client's ResponseError
        for any status of 400 and above."""
        url = f"{self.base}/v1/{path}" + (f"?{urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        for name, value in {**self.headers, "X-Vault-Token": self.token}.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=60) as response:
                raw = response.read()
            return json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = json.loads(raw) if raw else {}
            except ValueError:
                parsed = {"errors": [raw.decode(errors="replace")]}
            errors = "".join(f"* {e}" for e in parsed.get("errors") or [])
            message = (
                f"Error making API request.\n\nURL: {method} {url}\n"
                f"Code: {error.code}. Errors:\n\n{errors}"
            )
            raise VaultError(error.code, message, parsed) from None
        except urllib.error.URLError as error:
            raise Failure(f'{method.title()} "{url}": {error.reason}') from None

    def read(self, path: str, query: dict[str, str] | None = None) -> dict[str, Any] | None:
        """api.Logical.Read: None for a 404 that carries neither data nor warnings."""
        try:
            return self.call("GET", path, query=query)
        except VaultError as error:
            if error.status == 404:
                return error.body if error.body.get("data") or error.body.get("warnings") else None
            raise


class Meta:
    """internal/provider/meta.go ProviderMeta: the configuration now, the client on first use."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self._client: Client | None = None

    def configure(self, config: dict[str, Any]) -> None:
        unsupported = sorted(k for k, v in config.items() if k not in CONFIG_KEYS and v)
        if unsupported:
            raise Failure(f"the vault stand-in does not implement provider settings {unsupported}")
        self.config, self._client = config, None

    @property
    def client(self) -> Client:
        if self._client is None:
            if self.config is None:
                raise Failure("the vault provider is not configured")
            self._client = Client(Settings.of(self.config))
        return self._client


# The one configuration of this plugin process (one provider per plugin process).
META = Meta()
