"""NetworkPolicies for the Vault namespace: deny everything, then let in and out only what
Vault, its CSI provider and the snapshot job need. Enforced by the cluster's network policy
engine (Cilium or Calico); AKS only (docs/security.md, "Network").

Who talks to whom, and why each rule exists:
- the deployer reaches an in-cluster Vault through the API server's service proxy: on AKS the
  API server reaches pods through its konnectivity agents, pods in kube-system labelled
  `app: konnectivity-agent`, so that is where the proxied requests come from (Azure CNI powered
  by Cilium cannot match node or pod addresses with ipBlock, so selectors it is);
- the CSI provider (a pod network DaemonSet here, not host network) logs pods in and reads
  secrets at Vault's port, and asks the API server for the pods' tokens (HTTPS);
- Raft peers reach each other on 8200 (joins, forwarding to the active node) and 8201 (Raft);
- the snapshot job reads a snapshot from Vault and uploads it to Blob storage (HTTPS, with a
  token exchanged at Entra ID);
- Azure Monitor's Prometheus agent (pods `rsName: ama-metrics` in kube-system) scrapes
  /v1/sys/metrics on 8200;
- Vault's pods review tokens at the API server, register their state there, and (ha) unseal
  with an Azure Key Vault key through its private endpoint after a token exchange at Entra ID:
  all HTTPS, to addresses no selector names, so 443 anywhere but the metadata service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .network_policies import KUBE_DNS, NAMESPACE_LABEL, declare_policies

VAULT_SERVER = {"app.kubernetes.io/name": "vault", "component": "server"}
CSI_PROVIDER = {"app.kubernetes.io/name": "vault-csi-provider"}
SNAPSHOT_JOB = {"app.kubernetes.io/name": "vault-snapshot"}
KONNECTIVITY_AGENT = {"app": "konnectivity-agent"}
PROMETHEUS_AGENT = {"rsName": "ama-metrics"}
API_PORT, CLUSTER_PORT, HTTPS_PORT = 8200, 8201, 443
METADATA_SERVICE = "169.254.0.0/16"


def _pods(labels: Mapping[str, str]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": dict(labels)}}


def _kube_system(labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
        **_pods(labels),
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


ANYWHERE_BUT_METADATA = {"ipBlock": {"cidr": "0.0.0.0/0", "except": [METADATA_SERVICE]}}
HTTPS_OUT = {"to": [ANYWHERE_BUT_METADATA], "ports": _tcp(HTTPS_PORT)}


@dataclass(frozen=True)
class VaultTraffic:
    """What runs in the Vault namespace."""

    server: bool  # an in-cluster Vault (dev or ha)
    snapshots: bool = False  # the ha snapshot job
    metrics: bool = False  # the Prometheus agent scrapes the server
    external_port: int | None = None  # an external Vault's port, for the CSI provider


def vault_policies(traffic: VaultTraffic) -> dict[str, dict[str, Any]]:
    """NetworkPolicy specs by name (policies add up: a pod may do what any selecting policy
    allows, and nothing else once one selects it for that direction)."""
    policies: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [_kube_system(KUBE_DNS)],
                    "ports": [{"protocol": "UDP", "port": 53}, *_tcp(53)],
                }
            ],
        },
    }
    to_vault = (
        {"to": [_pods(VAULT_SERVER)], "ports": _tcp(API_PORT)}
        if traffic.server
        else {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _tcp(traffic.external_port)}
    )
    # The CSI provider: to Vault, and to the API server for the pods' tokens.
    policies["csi-provider-egress"] = {
        "podSelector": {"matchLabels": CSI_PROVIDER},
        "policyTypes": ["Egress"],
        "egress": [to_vault, HTTPS_OUT],
    }
    if not traffic.server:
        return policies
    clients = [_pods(CSI_PROVIDER), _kube_system(KONNECTIVITY_AGENT)]
    if traffic.snapshots:
        clients.append(_pods(SNAPSHOT_JOB))
    if traffic.metrics:
        clients.append(_kube_system(PROMETHEUS_AGENT))
    peers = {"from": [_pods(VAULT_SERVER)], "ports": _tcp(API_PORT, CLUSTER_PORT)}
    policies["vault-server"] = {
        "podSelector": {"matchLabels": VAULT_SERVER},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": clients, "ports": _tcp(API_PORT)}, peers],
        "egress": [{"to": peers["from"], "ports": peers["ports"]}, HTTPS_OUT],
    }
    if traffic.snapshots:
        policies["snapshot-job-egress"] = {
            "podSelector": {"matchLabels": SNAPSHOT_JOB},
            "policyTypes": ["Egress"],
            "egress": [{"to": [_pods(VAULT_SERVER)], "ports": _tcp(API_PORT)}, HTTPS_OUT],
        }
    return policies


@dataclass(frozen=True)
class VaultNetworkPoliciesArgs:
    provider: k8s.Provider
    namespace: str
    traffic: VaultTraffic
    labels: Mapping[str, str]


class VaultNetworkPolicies(pulumi.ComponentResource):
    names: list[str]

    def __init__(
        self, name: str, args: VaultNetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:kubernetes:VaultNetworkPolicies", name, None, opts)
        specs = vault_policies(args.traffic)
        self.names = declare_policies(self, name, specs, args.namespace, args.labels, args.provider)
        self.register_outputs({"names": self.names})
