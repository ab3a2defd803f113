"""Issue 21 #2: admission. Pod Security Admission enforces restricted on the namespaces the program
creates (the Vault namespace says why it cannot); every pod template the program declares, and
the Vault server the chart renders, meets restricted (a pure check of the standard's rules);
production's cluster runs the Azure Policy add-on with the AKS baseline's assignments, Defender,
the image cleaner and workload identity, with Run Command off."""

from __future__ import annotations

import copy
from typing import Any

import cases
import pytest
from harness import AZURE_DEV, run_stack
from test_helm_render import installs
from test_policy import MANAGED_CLUSTER, make_args, rules

from components import versions
from components.azure import admission
from components.kubernetes.pod_security import (
    REASON_ANNOTATION,
    VERSION,
    namespace_labels,
    restricted_problems,
)

PROD = "Pulumi.prod.yaml"
CLUSTER = "azure-native:containerservice:ManagedCluster"
ASSIGNMENT = "azure-native:authorization:PolicyAssignment"
POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
COMPLIANT: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "image": "app:1",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            },
        }
    ],
    "volumes": [{"name": "secrets", "csi": {"driver": "secrets-store.csi.k8s.io"}}],
}


def _broken(change) -> dict[str, Any]:
    spec = copy.deepcopy(COMPLIANT)
    change(spec)
    return spec


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["containers"][0]["securityContext"]


BREAKS = {
    "hostNetwork": (lambda s: s.update(hostNetwork=True), "hostNetwork is true"),
    "hostPath volume": (
        lambda s: s["volumes"].append({"name": "sock", "hostPath": {"path": "/var/run"}}),
        "volume sock is ['hostPath']",
    ),
    "privileged": (lambda s: _container(s).update(privileged=True), "privileged"),
    "privilege escalation": (
        lambda s: _container(s).pop("allowPrivilegeEscalation"),
        "allowPrivilegeEscalation is not false",
    ),
    "capabilities kept": (
        lambda s: _container(s)["capabilities"].update(drop=[]),
        "do not drop ALL",
    ),
    "capability added": (
        lambda s: _container(s)["capabilities"].update(add=["SYS_ADMIN"]),
        "adds capabilities ['SYS_ADMIN']",
    ),
    "root allowed": (lambda s: s["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
    "root user": (lambda s: _container(s).update(runAsUser=0), "runs as user 0"),
    "no seccomp": (lambda s: s["securityContext"].pop("seccompProfile"), "seccompProfile is None"),
    "unconfined seccomp": (
        lambda s: _container(s).update(seccompProfile={"type": "Unconfined"}),
        "seccompProfile is Unconfined",
    ),
    "host port": (
        lambda s: s["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]),
        "hostPort",
    ),
    "unsafe sysctl": (
        lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
        "sysctl kernel.msgmax",
    ),
}


def test_the_restricted_check_passes_a_compliant_pod() -> None:
    assert restricted_problems(COMPLIANT) == []


@pytest.mark.parametrize(("change", "problem"), BREAKS.values(), ids=BREAKS.keys())
def test_the_restricted_check_catches_each_rule(change, problem: str) -> None:
    found = restricted_problems(_broken(change))
    assert found and any(problem in p for p in found), found


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        path = POD_SPEC_PATHS.get(obj.get("kind", ""))
        hooks = (obj.get("metadata", {}).get("annotations") or {}).get("helm.sh/hook", "")
        if not path or "test" in hooks.split(","):  # `helm test` only: never installed
            continue
        spec: Any = obj
        for key in path:
            spec = spec[key]
        found.append((f"{obj['kind']} {obj['metadata']['name']}", spec))
    return found


@pytest.mark.parametrize("case", cases.CASES)
def test_every_pod_template_the_program_declares_is_restricted(case: str) -> None:
    run = cases.run(case)
    objects = [
        {"kind": r.type.rsplit(":", 1)[1], **r.props}
        for r in run.resources
        if r.type.startswith("kubernetes:apps/") or r.type.startswith("kubernetes:batch/")
    ]
    problems = {name: restricted_problems(spec) for name, spec in _pod_specs(objects)}
    assert not {k: v for k, v in problems.items() if v}


@pytest.mark.parametrize(
    "case", [c for c in cases.CASES if cases.settings(c).vault and cases.settings(c).vault.mode]
)
def test_the_vault_chart_pods_are_restricted_but_the_csi_provider(case: str) -> None:
    """The server (dev, ha) meets restricted with the program's values; the CSI provider falls
    short only where the Vault namespace's reason says: the hostPath of the node's provider
    socket directory, and root to create its socket there."""
    (install,) = [i for i in installs(case) if i.chart == versions.VAULT]
    problems = {
        name: restricted_problems(spec) for name, spec in _pod_specs(list(install.render().objects))
    }
    for name, found in problems.items():
        if name.startswith("DaemonSet"):
            assert sorted(found) == [
                "containers[vault-csi-provider]: runAsNonRoot is not true (container or pod)",
                "volume providervol is ['hostPath'] (allowed: restricted types)",
            ], (name, found)
        else:
            assert found == [], (name, found)
    assert any(n.startswith("DaemonSet") for n in problems)


def _namespaces(case: str) -> dict[str, dict[str, Any]]:
    run = cases.run(case)
    return {
        r.props["metadata"]["name"]: r.props["metadata"]
        for r in run.of_type("kubernetes:core/v1:Namespace")
    }


def test_aidbox_namespace_enforces_restricted() -> None:
    metadata = _namespaces("azure-aksAddon")["clinic"]
    assert metadata["labels"] == namespace_labels("restricted")
    assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert metadata["labels"]["pod-security.kubernetes.io/enforce-version"] == VERSION == "v1.37"


def test_vault_namespace_enforces_privileged_and_says_why() -> None:
    metadata = _namespaces("Pulumi.dev-vault.yaml")["vault"]
    labels = metadata["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert "hostPath" in metadata["annotations"][REASON_ANNOTATION]


@pytest.mark.parametrize("case", cases.CASES)
def test_every_namespace_the_program_creates_passes_the_policy(case: str) -> None:
    found: list[str] = []
    for name, metadata in _namespaces(case).items():
        rules.validate_namespace_pod_security(
            make_args("kubernetes:core/v1:Namespace", {"metadata": metadata}, name=name),
            lambda message, urn=None: found.append(message),
        )
    assert found == [], (case, found)


def test_namespace_policy_refuses_an_unlabelled_or_unexplained_namespace() -> None:
    def check(metadata: dict[str, Any]) -> list[str]:
        found: list[str] = []
        rules.validate_namespace_pod_security(
            make_args("kubernetes:core/v1:Namespace", {"metadata": metadata}),
            lambda message, urn=None: found.append(message),
        )
        return found

    assert check({"name": "a", "labels": namespace_labels()}) == []
    assert "without it the namespace admits any pod" in check({"name": "a"})[0]
    weak = {"name": "a", "labels": namespace_labels("baseline")}
    assert "no annotation aidbox-secrets/pod-security-reason" in check(weak)[0]
    assert check({**weak, "annotations": {REASON_ANNOTATION: "the CSI provider's hostPath"}}) == []


# -- the cluster --------------------------------------------------------------------------------


def test_production_cluster_runs_the_baselines_admission_and_runtime_security() -> None:
    run = cases.run(PROD)
    cluster = run.one(CLUSTER).props
    assert cluster["addonProfiles"]["azurepolicy"] == {"enabled": True, "config": {"version": "v2"}}
    security = cluster["securityProfile"]
    assert security["workloadIdentity"] == {"enabled": True}
    assert security["imageCleaner"] == {"enabled": True, "intervalHours": 120}
    assert security["defender"] == {
        "logAnalyticsWorkspaceResourceId": run.output("logAnalyticsWorkspaceId"),
        "securityMonitoring": {"enabled": True},
    }
    assert cluster["apiServerAccessProfile"]["disableRunCommand"] is True


def test_dev_cluster_skips_what_costs_and_keeps_run_command() -> None:
    cluster = run_stack(AZURE_DEV).one(CLUSTER).props
    assert cluster["addonProfiles"]["azurepolicy"] == {"enabled": False}
    assert cluster["securityProfile"]["defender"] == {"securityMonitoring": {"enabled": False}}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}  # free
    assert cluster["apiServerAccessProfile"]["disableRunCommand"] is False
    assert not run_stack(AZURE_DEV).of_type(ASSIGNMENT)


def test_production_assigns_the_baselines_pod_security_and_image_policies() -> None:
    run = cases.run(PROD)
    cluster_id = run.one(CLUSTER).props["resourceName"]
    by_name = {a.props["policyAssignmentName"]: a.props for a in run.of_type(ASSIGNMENT)}
    assert set(by_name) == {"aks-pod-security-restricted", "aks-allowed-images"}
    restricted = by_name["aks-pod-security-restricted"]
    assert restricted["policyDefinitionId"] == (
        "/providers/Microsoft.Authorization/policySetDefinitions/"
        "42b8ef37-b724-4e24-bbc8-7a7708edfe00"
    )
    assert restricted["parameters"]["effect"] == {"value": "Audit"}
    assert restricted["parameters"]["excludedNamespaces"]["value"] == [
        "kube-system",
        "gatekeeper-system",
        "azure-arc",
    ]
    allowed = by_name["aks-allowed-images"]
    assert allowed["policyDefinitionId"] == (
        "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469"
    )
    assert allowed["parameters"]["effect"] == {"value": "Deny"}
    server = (
        f"{run.one('azure-native:containerregistry:Registry').props['registryName']}.azurecr.io"
    )
    assert allowed["parameters"]["allowedContainerImagesRegex"]["value"] == (
        admission.allowed_images_regex(server)
    )
    for props in by_name.values():
        assert props["scope"].endswith(f"/managedClusters/{cluster_id}")


def test_allowed_images_regex_admits_the_registry_and_mcr_only() -> None:
    import re

    pattern = re.compile(admission.allowed_images_regex("acrx.azurecr.io"))
    assert pattern.search("acrx.azurecr.io/healthsamurai/aidboxone:2605.1")
    assert pattern.search("mcr.microsoft.com/oss/kubernetes/pause:3.10")
    for image in (
        "docker.io/library/postgres:17.6",
        "acrxazurecr.io/x:1",
        "evil/acrx.azurecr.io/x",
    ):
        assert not pattern.search(image), image


def test_vault_namespace_is_excluded_from_the_restricted_assignment_with_its_reason() -> None:
    run = cases.run("vault-ha-acr")
    # vault-ha-acr is a dev stack: the add-on is off by default; turned on, the Vault namespace
    # (its CSI provider) is left out of the restricted initiative.
    config = dict(cases.CASES["vault-ha-acr"].config)
    cluster = {**config.get("aidbox-secrets:cluster", {}), "azurePolicy": True}
    run = run_stack({**config, "aidbox-secrets:cluster": cluster}, secret_keys=["vault"])
    (restricted,) = [
        a for a in run.of_type(ASSIGNMENT) if a.props["policyAssignmentName"].endswith("restricted")
    ]
    assert restricted.props["parameters"]["excludedNamespaces"]["value"][-1] == "vault"


# -- the policy pack ----------------------------------------------------------------------------


def _admission_violations(props: dict[str, Any]) -> list[str]:
    found: list[str] = []
    rules.validate_aks_admission(
        make_args(MANAGED_CLUSTER, props, name="aks", config={"production": True}),
        lambda message, urn=None: found.append(message),
    )
    return found


def test_policy_refuses_a_production_cluster_without_each_safeguard() -> None:
    good = cases.run(PROD).one(CLUSTER).props
    assert _admission_violations(good) == []
    breaks = {
        "addonProfiles.azurepolicy.enabled": ("addonProfiles", "azurepolicy", "enabled"),
        "securityProfile.defender.securityMonitoring.enabled": (
            "securityProfile",
            "defender",
            "securityMonitoring",
            "enabled",
        ),
        "securityProfile.imageCleaner.enabled": ("securityProfile", "imageCleaner", "enabled"),
        "securityProfile.workloadIdentity.enabled": (
            "securityProfile",
            "workloadIdentity",
            "enabled",
        ),
        "apiServerAccessProfile.disableRunCommand": ("apiServerAccessProfile", "disableRunCommand"),
    }
    for field, path in breaks.items():
        bad = copy.deepcopy(good)
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = False
        (violation,) = _admission_violations(bad)
        assert violation.startswith(f"{MANAGED_CLUSTER} 'aks': {field} is false"), violation
    # Not production: no rule.
    found: list[str] = []
    rules.validate_aks_admission(
        make_args(MANAGED_CLUSTER, {"tags": {"environment": "dev"}}, name="aks"),
        lambda message, urn=None: found.append(message),
    )
    assert found == []
