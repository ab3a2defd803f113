"""How the deployer reaches an in-cluster Vault: pure helpers, without mocks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from components.kubernetes.target import bearer_header
from components.stores import vault_access


def test_service_proxy_address_goes_through_the_api_server() -> None:
    address = vault_access.service_proxy_address(
        "https://aks.example:443/", namespace="vault", service="vault", port=8200, scheme="http"
    )
    assert (
        address == "https://aks.example:443/api/v1/namespaces/vault/services/http:vault:8200/proxy"
    )
    ha = vault_access.service_proxy_address(
        "https://aks.example:443", namespace="v", service="vault-active", port=8200, scheme="https"
    )
    assert (
        ha == "https://aks.example:443/api/v1/namespaces/v/services/https:vault-active:8200/proxy"
    )
    with pytest.raises(ValueError):
        vault_access.service_proxy_address(
            "https://aks.example", namespace="v", service="vault", port=8200, scheme="tcp"
        )


def test_bearer_header_is_for_the_api_server_not_vault() -> None:
    assert bearer_header("t0k") == {"name": "Authorization", "value": "Bearer t0k"}


def test_ca_file_is_written_once_at_a_stable_path(tmp_path: Path) -> None:
    path = tmp_path / "ca" / "api-server-ca.pem"
    assert vault_access.write_ca_file(path, "PEM1") == str(path)
    assert path.read_text() == "PEM1" and oct(path.stat().st_mode & 0o777) == "0o644"
    mtime = path.stat().st_mtime_ns
    vault_access.write_ca_file(path, "PEM1")
    assert path.stat().st_mtime_ns == mtime  # unchanged: not rewritten
    vault_access.write_ca_file(path, "PEM2")
    assert path.read_text() == "PEM2"
    path = vault_access.ca_file_path
    assert path("CA1") == path("CA1")
    assert path("CA1") != path("CA2")  # another cluster, another file


def test_ca_file_is_kept_in_the_users_cache_not_a_temporary_folder() -> None:
    """The path is kept in the Vault provider's stored configuration, which later runs read."""
    path = vault_access.ca_file_path
    assert path("CA1", {"XDG_CACHE_HOME": "/c"}).parent == Path("/c/aidbox-secrets/ca")
    assert path("CA1", {"HOME": "/home/u"}).parent == Path("/home/u/.cache/aidbox-secrets/ca")
    assert not str(path("CA1")).startswith(tempfile.gettempdir())


def test_server_certificate_names_cover_services_and_every_pod() -> None:
    names = vault_access.vault_server_dns_names("vault", "vault", 3)
    assert {"vault.vault.svc", "vault.vault", "vault-active.vault.svc"} <= set(names)
    assert {f"vault-{i}.vault-internal" for i in range(3)} <= set(names)
    assert "vault-3.vault-internal" not in names
