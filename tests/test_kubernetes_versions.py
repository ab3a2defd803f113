"""Issue 21 #5: the default minor is the newest AKS has generally available, with the longest
support; production refuses a minor within 90 days of its end of support (settings and policy
pack); the schema tests and the end-to-end API server run that minor."""

from __future__ import annotations

import re
from datetime import date

import cases
import pytest
from harness import AZURE_DEV, ROOT, run_stack
from kubernetes_validate.utils import all_versions, major_minor
from test_policy import MANAGED_CLUSTER, make_args, rules

from components import aks_versions
from components.settings import ClusterSettings, SettingsError, parse_settings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
PRODUCTION = {
    "production": True,
    "secretStore": "azure",
    "secrets": SECRETS,
    "aidboxLicense": "license",
    "aidbox": {
        "replicas": 2,
        "image": "healthsamurai/aidboxone:2605.0",
        "internal": {"baseUrl": "https://fhir.example.org"},
    },
    "cluster": {
        "apiServerAuthorizedRanges": ["203.0.113.0/28"],
        "adminGroupObjectIds": ["0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"],
    },
}


def production(version: str | None, today: date):
    raw = {**PRODUCTION, "cluster": dict(PRODUCTION["cluster"])}
    if version is not None:
        raw["cluster"]["kubernetesVersion"] = version
    return parse_settings(
        raw,
        project="aidbox-secrets",
        stack="prod",
        secret_keys=frozenset({"aidboxLicense"}),
        today=today,
        registry_bootstrap=True,  # the registry's images: tests/test_registry.py
    )


def test_the_default_is_the_newest_generally_available_minor() -> None:
    generally_available = {
        minor: end
        for minor, (ga, end) in aks_versions.CALENDAR.items()
        if ga <= aks_versions.CHECKED
    }
    longest = max(generally_available, key=lambda m: generally_available[m])
    assert aks_versions.DEFAULT_MINOR == longest == "1.37"
    assert ClusterSettings().kubernetes_version == aks_versions.DEFAULT_MINOR


def test_production_refuses_a_minor_near_its_end_of_support() -> None:
    assert production(None, date(2026, 12, 2)).cluster.kubernetes_version == "1.37"
    # 1.37 ends on 2027-10-31: 91 days before, still fine; 89 days before, refused.
    assert production("1.37", date(2027, 8, 1)).cluster.kubernetes_version == "1.37"
    with pytest.raises(SettingsError, match=r"cluster.kubernetesVersion = '1.37'.*2027-10-31"):
        production("1.37", date(2027, 8, 3))
    with pytest.raises(SettingsError, match=r"'1.34'.*ended on 2026-11-30"):
        production("1.34", date(2026, 12, 2))
    with pytest.raises(SettingsError, match="a minor in the AKS release calendar"):
        production("1.38", date(2026, 12, 2))


def test_dev_stacks_may_run_any_supported_chart_minor() -> None:
    dev = parse_settings(
        {"secretStore": "azure", "secrets": SECRETS, "cluster": {"kubernetesVersion": "1.34"}},
        project="aidbox-secrets",
        stack="dev",
        today=date(2026, 12, 2),
    )
    assert dev.cluster.kubernetes_version == "1.34"


def _policy(version: str | None) -> list[str]:
    found: list[str] = []
    props = {"resourceName": "aks", "kubernetesVersion": version}
    rules.validate_aks_kubernetes_version(
        make_args(MANAGED_CLUSTER, props, name="aks", config={"production": True}),
        lambda message, urn=None: found.append(message),
    )
    return found


def test_policy_refuses_a_production_minor_near_its_end_of_support() -> None:
    assert _policy(aks_versions.DEFAULT_MINOR) == []
    (problem,) = _policy("1.34")
    assert "kubernetesVersion '1.34'" in problem and "2026-11-30" in problem
    assert "kubernetesVersion unset" in _policy(None)[0]
    assert rules.kubernetes_version_problem("1.37.2", date(2027, 8, 3))
    assert rules.kubernetes_version_problem("1.37.2", date(2027, 8, 1)) is None


def test_schemas_and_the_end_to_end_api_server_follow_the_default_minor() -> None:
    minor = aks_versions.DEFAULT_MINOR
    assert cases.target_version("Pulumi.prod.yaml") == minor
    assert cases.target_version("Pulumi.dev.yaml") == minor
    assert minor in {major_minor(v) for v in all_versions()}
    go_mod = (ROOT / "scripts" / "e2e" / "kubernetes" / "go.mod").read_text()
    required = re.search(r"^\s*k8s\.io/kubernetes v(\d+\.\d+)\.\d+ // indirect$", go_mod, re.M)
    assert required and required[1] == minor, "the e2e builds another kube-apiserver"
    staging = set(re.findall(r"=> k8s\.io/[\w-]+ v0\.(\d+)\.\d+", go_mod))
    assert staging == {minor.split(".")[1]}


def test_a_public_endpoint_warns_that_managed_nginx_is_out_of_support(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tls = {"secretName": "fhir-tls"}
    run_stack({**AZURE_DEV, "aidbox": {"host": "nginx-notice.example.org", "tls": tls}})
    assert "managed NGINX" in caplog.text and "November 2026" in caplog.text
    caplog.clear()
    run_stack({**AZURE_DEV, "aidbox": {"replicas": 1, "cpuRequest": "250m"}})
    assert "managed NGINX" not in caplog.text
