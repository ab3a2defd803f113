"""Pure SecretProviderClass parameters for each provider. Every value is a string."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from ..settings import SecretSpec


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, as the providers' own examples do."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def _dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False)


def azure_objects(names: Iterable[str]) -> str:
    """`objects` for the Azure provider: `array:` of YAML strings, one per Key Vault secret."""
    return _dump({"array": [_dump({"objectName": n, "objectType": "secret"}) for n in names]})


def azure_parameters(
    *,
    key_vault_name: str,
    tenant_id: str,
    names: Sequence[str],
    identity: str,
    identity_client_id: str | None,
    cloud_name: str = "AzurePublicCloud",
) -> dict[str, str]:
    """identity: `vm` (kubelet or add-on managed identity), `workload`, or `servicePrincipal`
    (credentials come from the volume's nodePublishSecretRef, so no identity parameter)."""
    params = {
        "keyvaultName": key_vault_name,
        "tenantID": tenant_id,
        "cloudName": cloud_name,
        "objects": azure_objects(names),
    }
    if identity == "vm":
        params |= {"useVMManagedIdentity": "true", "userAssignedIdentityID": identity_client_id}
    elif identity == "workload":
        params |= {"clientID": identity_client_id}
    elif identity != "servicePrincipal":
        raise ValueError(f"unknown identity {identity!r}")
    if any(v is None for v in params.values()):
        raise ValueError(f"identity {identity!r} needs a client id")
    return params


def vault_objects(names: Iterable[str], secret_api_path: str, key: str) -> str:
    """`objects` for the Vault provider: a plain YAML list (no `array:` wrapper), each secret
    its own KV entry under `secret_api_path` (vault-csi-provider fails the whole mount when one
    requested key is missing, so an entry of its own per secret is what lets a secret be added
    later)."""
    return _dump(
        [{"objectName": n, "secretPath": f"{secret_api_path}/{n}", "secretKey": key} for n in names]
    )


def vault_parameters(
    *,
    address: str,
    role_name: str,
    names: Sequence[str],
    secret_api_path: str,
    key: str,
    auth_mount_path: str = "kubernetes",
    namespace: str | None = None,
    audience: str | None = None,
    ca_cert_path: str | None = None,
) -> dict[str, str]:
    params = {
        "vaultAddress": address,
        "roleName": role_name,
        "objects": vault_objects(names, secret_api_path, key),
    }
    if auth_mount_path != "kubernetes":
        params["vaultKubernetesMountPath"] = auth_mount_path
    if namespace:
        params["vaultNamespace"] = namespace
    if audience:
        params["audience"] = audience
    if ca_cert_path:
        # A file in the CSI provider pod: the CA that signed Vault's certificate.
        params["vaultCACertPath"] = ca_cert_path
    return params


def secret_objects(secrets: Iterable[SecretSpec]) -> list[dict[str, Any]]:
    """`spec.secretObjects`: Kubernetes Secrets the driver mirrors mounted values into."""
    by_secret: dict[str, list[dict[str, str]]] = {}
    for spec in secrets:
        if spec.kubernetes_secret:
            by_secret.setdefault(spec.kubernetes_secret.name, []).append(
                {"objectName": spec.name, "key": spec.kubernetes_secret.key}
            )
    return [
        {"secretName": name, "type": "Opaque", "data": data} for name, data in by_secret.items()
    ]
