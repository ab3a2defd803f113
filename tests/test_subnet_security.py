"""Network security groups (issue 21 #4): every subnet the program creates has one (landing-zone
policies often deny a subnet without), with the AKS baseline's rules; AzureFirewallSubnet has
none (Azure refuses one there). The rule sets are pure and tested without mocks."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import cases
import pytest
from harness import ROOT, stack_config

from components.azure.nsg import (
    node_rules,
    postgres_rules,
    private_endpoint_rules,
)

VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"
# The stack files that create their network (Pulumi.local.yaml deploys to kind).
STACK_FILES = sorted(
    p.name
    for p in Path(ROOT).glob("Pulumi.*.yaml")
    if (stack_config(p).get("aidbox-secrets:cluster") or {}).get("mode", "aks") == "aks"
)
CASES = [*STACK_FILES, "azure-public-autoscaled"]


@pytest.mark.parametrize("case", CASES)
def test_every_subnet_the_program_creates_has_a_security_group(case: str) -> None:
    run = cases.run(case)
    groups = {f"{r.name}-id": r for r in run.of_type(NSG)}
    for subnet in run.one(VNET).props["subnets"]:
        if subnet["name"] == "AzureFirewallSubnet":
            # Azure refuses a network security group on the firewall's subnet.
            assert "networkSecurityGroup" not in subnet
            continue
        group = subnet["networkSecurityGroup"]["id"]
        assert group in groups, subnet["name"]
    # Each group is the network's own, and attached: none is left unused.
    attached = {
        s["networkSecurityGroup"]["id"]
        for s in run.one(VNET).props["subnets"]
        if "networkSecurityGroup" in s
    }
    assert attached == set(groups)
    assert run.one(VNET).dependencies  # the network waits for its groups (created first)
    for group in groups.values():
        assert group.urn in run.one(VNET).dependencies


def test_the_groups_are_named_after_the_network() -> None:
    run = cases.run("Pulumi.prod.yaml")
    names = sorted(r.props["networkSecurityGroupName"] for r in run.of_type(NSG))
    vnet = run.one(VNET).props["virtualNetworkName"]
    assert names == [f"nsg-{vnet}-{n}" for n in ("nodepools", "postgres", "private-endpoints")]


def by_name(rules: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rules}


def test_node_pools_keep_azure_defaults_unless_aidbox_is_public() -> None:
    """The baseline's node pool group has no rule of its own (spoke-BU0001A0008.bicep): egress is
    the firewall's to filter by name, which a security group cannot."""
    assert node_rules(public_web=False) == []
    (web,) = node_rules(public_web=True)
    assert web["direction"] == "Inbound" and web["access"] == "Allow"
    assert web["source_address_prefix"] == "Internet"
    assert web["destination_port_ranges"] == ["80", "443"]


def test_private_endpoints_take_https_from_the_network_and_nothing_else() -> None:
    rules = by_name(private_endpoint_rules())
    assert set(rules) == {"AllowAll443InFromVnet", "DenyAllInbound", "DenyAllOutbound"}
    https = rules["AllowAll443InFromVnet"]
    assert (https["protocol"], https["destination_port_range"]) == ("Tcp", "443")
    assert https["source_address_prefix"] == "VirtualNetwork"
    assert https["priority"] < rules["DenyAllInbound"]["priority"]
    assert rules["DenyAllOutbound"]["direction"] == "Outbound"


def test_the_database_takes_postgres_from_the_node_pools_only() -> None:
    nodes = ("10.240.0.0/22", "10.240.4.0/22")
    rules = by_name(postgres_rules(nodes, "10.240.9.0/24"))
    postgres = rules["AllowPostgresFromNodePools"]
    assert postgres["source_address_prefixes"] == list(nodes)
    assert (postgres["protocol"], postgres["destination_port_range"]) == ("Tcp", "5432")
    # The zone-redundant standby replicates within the subnet.
    within = rules["AllowWithinSubnet"]
    assert within["source_address_prefix"] == within["destination_address_prefix"]
    deny = rules["DenyOtherVnetInbound"]
    assert (deny["access"], deny["source_address_prefix"]) == ("Deny", "VirtualNetwork")
    assert deny["priority"] > max(postgres["priority"], within["priority"])
    # Azure's own AllowAzureLoadBalancerInBound (65001) stays reachable: no blanket deny of
    # every source.
    assert all(r["source_address_prefix"] != "*" for r in rules.values() if r["access"] == "Deny")


@pytest.mark.parametrize("rules", [private_endpoint_rules(), node_rules(public_web=True)])
def test_rules_have_unique_priorities_in_azure_range(rules: list[dict]) -> None:
    for direction in ("Inbound", "Outbound"):
        priorities = [r["priority"] for r in rules if r["direction"] == direction]
        assert len(priorities) == len(set(priorities))
        assert all(100 <= p <= 4096 for p in priorities)


def test_postgres_rules_use_the_subnets_the_settings_give() -> None:
    s = cases.settings("Pulumi.prod.yaml").network
    run = cases.run("Pulumi.prod.yaml")
    group = next(r for r in run.of_type(NSG) if r.name.endswith("postgres"))
    rules = by_name(group.props["securityRules"])
    assert rules["AllowPostgresFromNodePools"]["sourceAddressPrefixes"] == [
        s.system_subnet,
        s.user_subnet,
    ]
    assert ipaddress.ip_network(rules["AllowWithinSubnet"]["sourceAddressPrefix"]) == (
        ipaddress.ip_network(s.postgres_subnet)
    )


@pytest.mark.parametrize(
    ("case", "public"), [("azure-public-autoscaled", True), ("Pulumi.dev.yaml", False)]
)
def test_web_reaches_the_node_pools_only_with_a_public_host(case: str, public: bool) -> None:
    run = cases.run(case)
    group = next(r for r in run.of_type(NSG) if r.name.endswith("nodepools"))
    names = [r["name"] for r in group.props.get("securityRules") or []]
    assert names == (["AllowWebFromInternet"] if public else [])
