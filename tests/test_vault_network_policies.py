"""The Vault namespace's NetworkPolicies (issue 19, Vault item 14): pure builders checked flow by
flow with a small evaluator of NetworkPolicy semantics, against the labels the chart really
renders, and declared where the program runs Vault on AKS."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import kubernetes_validate
import pytest
from harness import VAULT_DEV, VAULT_EXTERNAL, VAULT_HA_INIT, run_stack
from test_helm_render import install_of

from components import versions
from components.kubernetes.vault_network_policies import (
    CSI_PROVIDER,
    KONNECTIVITY_AGENT,
    PROMETHEUS_AGENT,
    SNAPSHOT_JOB,
    VAULT_SERVER,
    VaultTraffic,
    vault_policies,
)

HA = VaultTraffic(server=True, snapshots=True, metrics=True)
DEV = VaultTraffic(server=True)
EXTERNAL = VaultTraffic(server=False, external_port=8200)
NS = "vault"


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer: Mapping[str, Any], pod: Mapping[str, Any] | str, own_ns: str) -> bool:
    if isinstance(pod, str):  # an address outside the cluster
        block = peer.get("ipBlock")
        if not block:
            return False
        address = ipaddress.ip_address(pod)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if "ipBlock" in peer:
        return False  # Cilium on AKS: ipBlock never matches pods
    namespace = peer.get("namespaceSelector")
    if namespace is not None:
        in_ns = _selects(namespace, {"kubernetes.io/metadata.name": pod["namespace"]})
    else:
        in_ns = pod["namespace"] == own_ns
    return in_ns and _selects(peer.get("podSelector") or {}, pod["labels"])


def _port_matches(rule: Mapping[str, Any], port: int) -> bool:
    ports = rule.get("ports")
    return ports is None or any(p["port"] == port and p["protocol"] == "TCP" for p in ports)


def allowed(policies: dict[str, Any], src: Any, dst: Any, port: int) -> bool:
    """Whether TCP src -> dst:port passes the Vault namespace's policies (egress of a source in
    it, ingress of a destination in it)."""
    for side, pod, key, other in (("Egress", src, "to", dst), ("Ingress", dst, "from", src)):
        if isinstance(pod, str) or pod["namespace"] != NS:
            continue
        selecting = [
            p
            for p in policies.values()
            if side in p["policyTypes"] and _selects(p["podSelector"], pod["labels"])
        ]
        rules = [r for p in selecting for r in p.get(side.lower(), [])]
        if selecting and not any(
            _port_matches(r, port) and any(_peer_matches(x, other, NS) for x in r[key])
            for r in rules
        ):
            return False
    return True


def pod(labels: Mapping[str, str], namespace: str = NS) -> dict[str, Any]:
    return {"labels": dict(labels), "namespace": namespace}


SERVER, CSI, JOB = pod(VAULT_SERVER), pod(CSI_PROVIDER), pod(SNAPSHOT_JOB)
KONNECTIVITY = pod(KONNECTIVITY_AGENT, "kube-system")
PROMETHEUS = pod(PROMETHEUS_AGENT, "kube-system")
AIDBOX = pod({"app.kubernetes.io/name": "aidbox"}, "default")
OTHER_SYSTEM_POD = pod({"k8s-app": "metrics-server"}, "kube-system")
STRANGER = pod({"app": "debug"})
API_SERVER, ENTRA_ID, IMDS = "20.50.2.10", "40.126.0.1", "169.254.169.254"


@pytest.mark.parametrize(
    ("what", "src", "dst", "port"),
    [
        ("the API server's proxy path (deployer)", KONNECTIVITY, SERVER, 8200),
        ("the CSI provider logs pods in", CSI, SERVER, 8200),
        ("the snapshot job reads a snapshot", JOB, SERVER, 8200),
        ("Prometheus scrapes metrics", PROMETHEUS, SERVER, 8200),
        ("Raft peers: API and forwarding", SERVER, SERVER, 8200),
        ("Raft peers: cluster port", SERVER, SERVER, 8201),
        ("Vault reviews tokens at the API server", SERVER, API_SERVER, 443),
        ("Vault exchanges its token at Entra ID (unseal)", SERVER, ENTRA_ID, 443),
        ("the CSI provider asks the API server for tokens", CSI, API_SERVER, 443),
        ("the snapshot job uploads to Blob storage", JOB, ENTRA_ID, 443),
    ],
)
def test_what_vault_needs_is_allowed(what: str, src: Any, dst: Any, port: int) -> None:
    assert allowed(vault_policies(HA), src, dst, port), what


@pytest.mark.parametrize(
    ("what", "src", "dst", "port"),
    [
        ("Aidbox may not reach Vault (the CSI provider does, for it)", AIDBOX, SERVER, 8200),
        ("another kube-system pod", OTHER_SYSTEM_POD, SERVER, 8200),
        ("a stray pod in the Vault namespace", STRANGER, SERVER, 8200),
        ("the CSI provider is no Raft peer", CSI, SERVER, 8201),
        ("the snapshot job is no Raft peer", JOB, SERVER, 8201),
        ("nothing reaches the CSI provider", SERVER, CSI, 8200),
        ("nothing reaches the snapshot job", SERVER, JOB, 8200),
        ("Vault may not reach the metadata service", SERVER, IMDS, 443),
        ("Vault may not open other ports out", SERVER, API_SERVER, 22),
        ("a stray pod may not leave", STRANGER, API_SERVER, 443),
        ("the snapshot job may not reach other ports", JOB, ENTRA_ID, 80),
    ],
)
def test_the_rest_is_denied(what: str, src: Any, dst: Any, port: int) -> None:
    assert not allowed(vault_policies(HA), src, dst, port), what


def test_dev_vault_has_no_snapshot_or_metrics_path() -> None:
    policies = vault_policies(DEV)
    assert "snapshot-job-egress" not in policies
    assert not allowed(policies, JOB, SERVER, 8200)
    assert not allowed(policies, PROMETHEUS, SERVER, 8200)
    assert allowed(policies, KONNECTIVITY, SERVER, 8200) and allowed(policies, CSI, SERVER, 8200)


def test_external_vault_fences_the_csi_provider_to_the_vault_port() -> None:
    policies = vault_policies(EXTERNAL)
    assert set(policies) == {"default-deny", "allow-dns", "csi-provider-egress"}
    assert allowed(policies, CSI, "198.51.100.7", 8200)
    assert not allowed(policies, CSI, "198.51.100.7", 8201)


@pytest.mark.parametrize("traffic", [HA, DEV, EXTERNAL], ids=["ha", "dev", "external"])
def test_every_pod_resolves_names_and_each_policy_is_valid(traffic: VaultTraffic) -> None:
    policies = vault_policies(traffic)
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = pod({"k8s-app": "kube-dns"}, "kube-system")
    assert allowed(policies, STRANGER, dns, 53)
    for name, spec in policies.items():
        obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": NS},
            "spec": spec,
        }
        kubernetes_validate.validate(obj, "1.34", strict=True)


def test_the_selectors_match_the_pods_the_chart_renders() -> None:
    install = install_of("vault-ha", versions.VAULT)
    assert install is not None
    rendered = install.render()
    server = rendered.named("StatefulSet", "vault")
    csi = rendered.named("DaemonSet", "vault-csi-provider")
    assert server is not None and csi is not None
    assert VAULT_SERVER.items() <= server["spec"]["template"]["metadata"]["labels"].items()
    assert CSI_PROVIDER.items() <= csi["spec"]["template"]["metadata"]["labels"].items()
    assert not csi["spec"]["template"]["spec"].get("hostNetwork")  # so policies apply to it


def _vault_policies_of(run: Any) -> dict[str, dict[str, Any]]:
    return {
        r.props["metadata"]["name"]: r.props["spec"]
        for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.props["metadata"]["namespace"] == "vault"
    }


def test_the_program_fences_the_vault_namespace_in_every_mode_on_aks() -> None:
    ha = _vault_policies_of(run_stack(VAULT_HA_INIT, secret_keys=["vault"]))
    assert {"default-deny", "allow-dns", "vault-server", "snapshot-job-egress"} <= set(ha)
    dev = _vault_policies_of(run_stack(VAULT_DEV))
    assert set(dev) == {"default-deny", "allow-dns", "csi-provider-egress", "vault-server"}
    external = _vault_policies_of(run_stack(VAULT_EXTERNAL, secret_keys=["vault"]))
    assert set(external) == {"default-deny", "allow-dns", "csi-provider-egress"}
    port = external["csi-provider-egress"]["egress"][0]["ports"][0]["port"]
    assert port == 8200  # https://vault.example:8200
