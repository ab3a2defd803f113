"""An Azure Firewall (Standard) in the cluster's own network, `network.egress.mode: firewall`:
its subnet, a public address for what it lets out, and a firewall policy with the rules of
egress_rules.py. The node pools' route (network.py) sends everything to it.

As in the AKS baseline's hub (mspnp/aks-baseline, network-team/hub-regionA.bicep): a firewall
policy rather than classic rules, threat intelligence set to deny, the firewall across the
zones, created after its rules ("to prevent multiple PUT updates happening to the firewall
causing a CONFLICT"), and its logs in Log Analytics. One rule collection group (the baseline's
two would be two more calls on the path to the cluster), one public address (enough SNAT ports
for this cluster's egress; Microsoft advises more for busy clusters)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import monitor, network

from .egress_rules import EgressNeeds, rule_collections

RULE_COLLECTION_GROUP = "aidbox-secrets-egress"
# Resource-specific tables (AZFWApplicationRule, ...): what was let out and what was refused.
LOGS = ("AZFWApplicationRule", "AZFWNetworkRule", "AZFWThreatIntel")


class NextHopMismatch(pulumi.RunError):
    """The firewall's address is not the one the node pools' route names."""


def check_next_hop(expected: str, configurations: Sequence[Any]) -> None:
    """Azure does not let a firewall's private address be chosen; the route was written with
    the one it gives (settings/egress.py, firewall_private_ip). Stop before the cluster is
    created if it gave another: nodes behind a route to nowhere never become ready."""
    found = [getattr(c, "private_ip_address", None) for c in configurations or []]
    if found and found[0] is not None and found[0] != expected:
        raise NextHopMismatch(
            f"the firewall got the private address {found[0]}, but the node pools' route sends "
            f"traffic to {expected}: the AzureFirewallSubnet must hold nothing but the "
            "firewall. Fix the subnet (or the route table's next hop to the firewall's "
            "address) before the cluster is created"
        )


@dataclass(frozen=True)
class EgressFirewallArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    name: str  # base of the Azure names
    subnet_id: pulumi.Input[str]  # the AzureFirewallSubnet
    next_hop: str  # the address the node pools' route names
    zones: tuple[str, ...]
    needs: EgressNeeds
    workspace_id: pulumi.Input[str]
    tags: Mapping[str, str]


class EgressFirewall(pulumi.ComponentResource):
    public_ip: pulumi.Output[str]  # where the cluster's egress comes from
    ready: pulumi.Output[Any]  # the firewall, once its address is checked: the cluster waits

    def __init__(
        self, name: str, args: EgressFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:EgressFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {"resource_group_name": args.resource_group_name, "location": args.location}
        zones = list(args.zones) or None
        address = network.PublicIPAddress(
            f"{name}-ip",
            public_ip_address_name=f"pip-{args.name}-egress",
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            zones=zones,
            tags=dict(args.tags),
            opts=child,
            **common,
        )
        policy = network.FirewallPolicy(
            f"{name}-policy",
            firewall_policy_name=f"afwp-{args.name}",
            sku={"tier": "Standard"},
            threat_intel_mode="Deny",
            tags=dict(args.tags),
            opts=child,
            **common,
        )
        rules = network.FirewallPolicyRuleCollectionGroup(
            f"{name}-rules",
            resource_group_name=args.resource_group_name,
            firewall_policy_name=policy.name,
            rule_collection_group_name=RULE_COLLECTION_GROUP,
            priority=200,
            rule_collections=rule_collections(args.needs),
            opts=child,
        )
        firewall = network.AzureFirewall(
            name,
            azure_firewall_name=f"afw-{args.name}",
            sku={"name": "AZFW_VNet", "tier": "Standard"},
            firewall_policy={"id": policy.id},
            ip_configurations=[
                {
                    "name": "egress",
                    "subnet": {"id": args.subnet_id},
                    "public_ip_address": {"id": address.id},
                }
            ],
            zones=zones,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[rules]),
            **common,
        )
        monitor.DiagnosticSetting(
            f"{name}-logs",
            name="firewall-to-log-analytics",
            resource_uri=firewall.id,
            workspace_id=args.workspace_id,
            log_analytics_destination_type="Dedicated",
            logs=[{"category": c, "enabled": True} for c in LOGS],
            opts=child,
        )
        self.public_ip = address.ip_address.apply(lambda ip: ip or "")
        self.ready = firewall.ip_configurations.apply(
            lambda configs: check_next_hop(args.next_hop, configs) or firewall
        )
        self.register_outputs({"publicIp": self.public_ip})
