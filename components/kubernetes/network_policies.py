"""NetworkPolicies for the Aidbox namespace: deny everything, then let in and out only what
Aidbox and its database need. Enforced by the cluster's network policy engine (Cilium or
Calico).

The Secrets Store CSI Driver and its providers are not in this namespace: the driver and the
Azure provider run in kube-system on the node's network (host network), and fetch secrets
from the store on the pod's behalf; the pod only reads files. So Aidbox needs no egress to
the store, and these policies cannot block a mount.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

AIDBOX = {"app.kubernetes.io/name": "aidbox"}
DATABASE = {"app.kubernetes.io/name": "aidbox-db"}
# The Job that creates Aidbox's database role (components/aidbox/db_role.py).
DATABASE_ROLE = {"app.kubernetes.io/name": "aidbox-db-role"}
DATABASE_PORT = 5432
KUBE_DNS = {"k8s-app": "kube-dns"}
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace
# Never reachable through the HTTPS egress rule, whatever CIDRs it lists: the virtual network
# and other private ranges, and the instance metadata service (node identity tokens).
CLOSED_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: name}}}


def _https_peer(cidr: str) -> dict[str, Any]:
    net = ipaddress.IPv4Network(cidr)
    closed = [c for c in CLOSED_RANGES if ipaddress.IPv4Network(c).subnet_of(net)]
    block: dict[str, Any] = {"cidr": cidr}
    if closed:
        block["except"] = closed
    return {"ipBlock": block}


def aidbox_policies(
    ingress_namespaces: Sequence[str],
    https_egress: Sequence[str],
    managed_database: str | None = None,
) -> dict[str, dict[str, Any]]:
    """NetworkPolicy specs by name. Policies add up: a pod may do what any selecting policy
    allows, and nothing else once one selects it for that direction. `managed_database` is the
    subnet of a managed PostgreSQL server, which Aidbox then reaches instead of the in-cluster
    one."""
    tcp = "TCP"
    policies: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{**_namespace("kube-system"), "podSelector": {"matchLabels": KUBE_DNS}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": tcp, "port": 53}],
                }
            ],
        },
        "aidbox-ingress": {
            "podSelector": {"matchLabels": AIDBOX},
            "policyTypes": ["Ingress"],
            "ingress": [
                # The ingress controller (the AKS application routing add-on by default).
                {
                    "from": [_namespace(n) for n in ingress_namespaces],
                    "ports": [{"protocol": tcp, "port": "http"}],
                },
                # Azure Monitor's Prometheus agent (ama-metrics) scraping Aidbox's metrics.
                {
                    "from": [_namespace("kube-system")],
                    "ports": [{"protocol": tcp, "port": "metrics"}],
                },
            ],
        },
        "aidbox-egress": {
            "podSelector": {"matchLabels": AIDBOX},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": DATABASE}}],
                    "ports": [{"protocol": tcp, "port": DATABASE_PORT}],
                },
            ],
        },
        "database-ingress": {
            "podSelector": {"matchLabels": DATABASE},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": AIDBOX}},
                        {"podSelector": {"matchLabels": DATABASE_ROLE}},
                    ],
                    "ports": [{"protocol": tcp, "port": DATABASE_PORT}],
                }
            ],
        },
        "database-role-egress": {
            "podSelector": {"matchLabels": DATABASE_ROLE},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": DATABASE}}],
                    "ports": [{"protocol": tcp, "port": DATABASE_PORT}],
                }
            ],
        },
    }
    if not ingress_namespaces:
        policies["aidbox-ingress"]["ingress"].pop(0)
    if managed_database:
        del policies["database-ingress"]
        policies["aidbox-egress"]["egress"][0]["to"] = [{"ipBlock": {"cidr": managed_database}}]
        policies["database-role-egress"]["egress"][0]["to"] = [
            {"ipBlock": {"cidr": managed_database}}
        ]
    if https_egress:
        # Aidbox's license check and FHIR package downloads leave the cluster over HTTPS. By
        # address: behind a firewall (network.egress), the firewall filters them by name.
        policies["aidbox-egress"]["egress"].append(
            {
                "to": [_https_peer(c) for c in https_egress],
                "ports": [{"protocol": tcp, "port": 443}],
            }
        )
    return policies


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    ingress_namespaces: Sequence[str]
    https_egress: Sequence[str]
    labels: Mapping[str, str]
    managed_database: str | None = None  # the managed PostgreSQL server's subnet


def declare_policies(
    parent: pulumi.Resource,
    name: str,
    specs: Mapping[str, dict[str, Any]],
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    provider: pulumi.ProviderResource,
) -> list[str]:
    """One NetworkPolicy `<name>-<policy>` per spec, named `policy` in `namespace`."""
    for policy, spec in specs.items():
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{policy}",
            metadata={"name": policy, "namespace": namespace, "labels": dict(labels)},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider),
        )
    return list(specs)


class NetworkPolicies(pulumi.ComponentResource):
    names: list[str]

    def __init__(
        self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:kubernetes:NetworkPolicies", name, None, opts)
        specs = aidbox_policies(args.ingress_namespaces, args.https_egress, args.managed_database)
        self.names = declare_policies(self, name, specs, args.namespace, args.labels, args.provider)
        self.register_outputs({"names": self.names})
