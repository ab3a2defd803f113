"""The stack files and modes the schema and Helm render tests run the program for: each runs
once under mocks (cached), with settings parsed the same way."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from harness import (
    AZURE_DEV,
    AZURE_PUBLIC,
    ROOT,
    VAULT_DEV,
    VAULT_EXTERNAL,
    VAULT_EXTERNAL_CA,
    VAULT_HA_INIT,
    StackRun,
    run_stack,
    stack_config,
    with_imports,
)
from kubernetes_validate.utils import all_versions, major_minor

from components.settings import ClusterSettings, Settings, parse_settings

P = "aidbox-secrets"
TEST_KUBECONFIG = ROOT / "tests" / "data" / "kubeconfig.yaml"


@dataclass(frozen=True)
class Case:
    id: str
    config: Mapping[str, Any]
    secret_keys: tuple[str, ...] = ()
    stack: str = "dev"

    @property
    def store(self) -> str:
        return str(self.config.get(f"{P}:secretStore", ""))


def _full(config: Mapping[str, Any]) -> dict[str, Any]:
    return {(k if ":" in k else f"{P}:{k}"): v for k, v in config.items()}


def _stack_file_case(path: Path) -> Case:
    config = _full(stack_config(path))
    secret_keys: tuple[str, ...] = ()
    license_key = f"{P}:aidboxLicense"
    if str(config.get(f"{P}:production", "")).lower() == "true" and license_key not in config:
        config[license_key] = "test-license"  # production requires one, set with --secret
        secret_keys = (license_key,)
    cluster = config.get(f"{P}:cluster") or {}
    if cluster.get("mode") == "kubeconfig":  # the user's ~/.kube/config: a test one here
        config[f"{P}:cluster"] = {**cluster, "kubeconfigPath": str(TEST_KUBECONFIG)}
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    # A registry you own holds what scripts/import-images.sh copied (it records the list).
    return Case(path.name, with_imports(config, stack), secret_keys, stack)


def _mode(id_: str, base: Mapping[str, Any], extra: Mapping[str, Any], *secret: str) -> Case:
    return Case(id_, {**_full(base), **_full(extra)}, tuple(_full(dict.fromkeys(secret))))


def _imported(case: Case) -> Case:
    return Case(case.id, with_imports(case.config, case.stack), case.secret_keys, case.stack)


SYNCED = {
    "scope": "Client/basic",
    "kubernetesSecret": {"name": "aidbox-synced", "key": "client-secret"},
}
CASES: dict[str, Case] = {
    c.id: c
    for c in [
        *(_stack_file_case(p) for p in sorted(ROOT.glob("Pulumi.*.yaml"))),
        _mode("vault-external", VAULT_EXTERNAL, {}, "vault"),
        _mode("vault-external-ca", VAULT_EXTERNAL_CA, {}, "vault"),
        # After its one-time init (the token set); before it, nothing but the chart differs.
        _mode("vault-ha", VAULT_HA_INIT, {}, "vault"),
        # Its own registry, holding what scripts/import-images.sh copied: every chart's image.
        _imported(_mode("vault-ha-acr", VAULT_HA_INIT, {"registry": {"mode": "acr"}}, "vault")),
        _mode(
            "vault-scopes-synced",
            VAULT_DEV,
            {
                "secrets": {
                    "client-secret": SYNCED,
                    "idp-secret": {"scope": "IdentityProvider"},
                    "topic-secret": {"scope": "AidboxTopicDestination/kafka-1"},
                    "introspector-secret": {"scope": "TokenIntrospector/jwt"},
                }
            },
        ),
        _mode("azure-workload", AZURE_DEV, {"azure": {"identity": "workload"}}),
        _mode(
            "azure-aksAddon",
            AZURE_DEV,
            {
                "csi": {"install": "aksAddon"},
                "rotationPollInterval": "1m",
                # In a namespace of its own (tests/test_reach.py), with its ServiceAccount.
                "namespace": "clinic",
                "aidbox": {"serviceAccount": "fhir"},
            },
        ),
        _mode(
            "azure-servicePrincipal",
            AZURE_DEV,
            {
                "azure": {
                    "identity": "servicePrincipal",
                    "clientId": "11111111-2222-3333-4444-555555555555",
                    "clientSecret": "sp-secret",
                    "objectId": "66666666-7777-8888-9999-000000000000",
                }
            },
            "azure",
        ),
        _mode("azure-synced", AZURE_DEV, {"secrets": {"client-secret": SYNCED}}),
        _mode("azure-serviceMonitor", AZURE_DEV, {"csi": {"metrics": "serviceMonitor"}}),
        # In public, autoscaled, with env from synced store secrets.
        _mode("azure-public-autoscaled", AZURE_PUBLIC, {}),
        _mode(
            "azure-aksAddon-keyvault-certificate",
            AZURE_DEV,
            {
                "csi": {"install": "aksAddon", "metrics": "serviceMonitor"},
                "azure": {"identity": "workload"},
                "aidbox": {
                    "host": "fhir.example.org",
                    "tls": {
                        "keyVaultCertificateUri": "https://kv-a.vault.azure.net/certificates/fhir"
                    },
                },
            },
        ),
    ]
}
VAULT_CASES = [c for c in CASES if CASES[c].store == "vault"]


@functools.cache
def run(case_id: str) -> StackRun:
    case = CASES[case_id]
    return run_stack(case.config, secret_keys=case.secret_keys, stack=case.stack)


@functools.cache
def settings(case_id: str) -> Settings:
    case = CASES[case_id]
    raw = {k.removeprefix(f"{P}:"): v for k, v in case.config.items() if k.startswith(f"{P}:")}
    return parse_settings(
        raw,
        project=P,
        stack=case.stack,
        location=case.config.get("azure-native:location"),
        secret_keys=frozenset(k.removeprefix(f"{P}:") for k in case.secret_keys),
    )


def target_version(case_id: str) -> str:
    """The MAJOR.MINOR the stack's AKS cluster runs, with schemas in kubernetes-validate. A
    cluster the program does not create is taken at the version the program targets."""
    if settings(case_id).cluster.mode != "aks":
        return ClusterSettings().kubernetes_version
    clusters = run(case_id).of_type("azure-native:containerservice:ManagedCluster")
    if len(clusters) != 1 or not clusters[0].props.get("kubernetesVersion"):
        pytest.fail(f"{case_id}: expected one AKS cluster with a kubernetesVersion", pytrace=False)
    wanted = major_minor(str(clusters[0].props["kubernetesVersion"]))
    shipped = [major_minor(v) for v in all_versions()]
    if wanted not in shipped:
        pytest.fail(
            f"{case_id}: the cluster runs Kubernetes {wanted}, but kubernetes-validate "
            f"{kubernetes_validate.__version__} ships schemas only for {shipped[0]}..{shipped[-1]} "
            "(it would silently use an older one): pin a kubernetes-validate that ships "
            f"{wanted} in requirements-dev.txt, or target a shipped version",
            pytrace=False,
        )
    return wanted
