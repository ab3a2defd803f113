"""`network.egress`: how the cluster's nodes reach the internet. Through the Standard load
balancer's outbound address (dev: nothing to pay for, nothing filtered), or through a firewall
that allows only what AKS, the images and Aidbox need: one the program creates in the cluster's
network, or a hub's (the usual enterprise landing zone), with a route 0.0.0.0/0 to its private
address on the node subnets (AKS `outboundType: userDefinedRouting`)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .reader import Section
from .values import cidr

EGRESS_MODES = ("loadBalancer", "firewall", "hubFirewall")
KEYS = ("mode", "firewallSubnet", "hubFirewallIp", "allowedFqdns", "routeNodePools")
# Azure requires this name for an Azure Firewall's subnet, and at least a /26.
FIREWALL_SUBNET = "AzureFirewallSubnet"
FIREWALL_SUBNET_PREFIX = 26
DEFAULT_FIREWALL_SUBNET = "10.240.10.0/26"
# Aidbox's HTTPS egress counts as "anywhere" when a range is wider than this: a /16 is one
# organisation's block, anything wider is a slice of the internet (two /1s are all of it).
NARROW_PREFIX = 16
_FQDN = re.compile(
    r"^(\*\.)?(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)
FQDN_RULE = (
    "host names such as partner.example or *.partner.example (a leading '*.' only; no scheme, "
    "path or port: the firewall allows HTTPS on 443 to them)"
)


@dataclass(frozen=True)
class EgressSettings:
    mode: str = "loadBalancer"
    # mode firewall: the AzureFirewallSubnet of the cluster's network.
    firewall_subnet: str = DEFAULT_FIREWALL_SUBNET
    # mode hubFirewall: the hub firewall's private address, the node subnets' next hop.
    hub_firewall_ip: str | None = None
    # Further HTTPS destinations for Aidbox (e.g. a partner's webhook), allowed on the firewall
    # the program creates; a hub firewall's rules are its owners'.
    allowed_fqdns: tuple[str, ...] = ()
    # mode firewall: false creates the firewall but leaves the node pools on the load
    # balancer, the first of two `up`s that move an existing cluster without a moment where
    # its nodes' route leads to a firewall not there yet (docs/operations.md, "Upgrade notes").
    route_node_pools: bool = True

    @property
    def through_firewall(self) -> bool:
        return self.mode != "loadBalancer" and self.route_node_pools

    @property
    def outbound_type(self) -> str:
        return "userDefinedRouting" if self.through_firewall else "loadBalancer"

    @property
    def next_hop(self) -> str | None:
        if self.mode == "firewall":
            return firewall_private_ip(self.firewall_subnet)
        return self.hub_firewall_ip


def firewall_private_ip(subnet: str) -> str:
    """The address Azure gives the firewall in its (otherwise empty) subnet: the first one a
    subnet may use, Azure keeping the first four. Azure does not let a firewall's private
    address be chosen, so the program checks it once the firewall exists (firewall.py)."""
    return str(ipaddress.IPv4Network(subnet).network_address + 4)


def is_wide(cidr_text: str) -> bool:
    return ipaddress.IPv4Network(cidr_text).prefixlen < NARROW_PREFIX


def parse_egress(network: Section, production: bool, address_space: str) -> EgressSettings:
    e = network.section("egress")
    e.reject_unknown(KEYS)
    default = "firewall" if production else "loadBalancer"
    mode = e.string("mode", default, choices=EGRESS_MODES) or default
    if e.has("firewallSubnet") and mode != "firewall":
        e.fail(
            "firewallSubnet",
            e.data["firewallSubnet"],
            "only with network.egress.mode firewall (the subnet of the firewall it creates)",
        )
    if e.has("hubFirewallIp") and mode != "hubFirewall":
        e.fail(
            "hubFirewallIp", e.data["hubFirewallIp"], "only with network.egress.mode hubFirewall"
        )
    subnet = cidr(e, "firewallSubnet", DEFAULT_FIREWALL_SUBNET)
    space = ipaddress.IPv4Network(address_space)
    if mode == "firewall":
        net = ipaddress.IPv4Network(subnet)
        if net.prefixlen > FIREWALL_SUBNET_PREFIX:
            e.fail("firewallSubnet", subnet, "a /26 or larger (Azure Firewall's minimum)")
        if not net.subnet_of(space):
            e.fail("firewallSubnet", subnet, f"a range inside network.addressSpace ({space})")
    hub_ip = None
    if mode == "hubFirewall":
        hub_ip = e.required_string("hubFirewallIp", "with network.egress.mode hubFirewall")
        try:
            address = ipaddress.IPv4Address(hub_ip)
        except ValueError:
            address = None
        if address is None or not address.is_private:
            e.fail(
                "hubFirewallIp",
                hub_ip,
                "a private IPv4 address (the hub firewall's, inside your network) such as "
                "10.200.0.4",
            )
        if address in space:
            e.fail(
                "hubFirewallIp",
                hub_ip,
                f"an address outside network.addressSpace ({space}): the hub firewall is in "
                "the hub network this one is peered with",
            )
    fqdns = tuple(dict.fromkeys(f.lower() for f in e.string_list("allowedFqdns")))
    for fqdn in fqdns:
        if not _FQDN.match(fqdn):
            e.fail("allowedFqdns", fqdn, FQDN_RULE)
    if fqdns and mode != "firewall":
        e.fail(
            "allowedFqdns",
            list(fqdns),
            "only with network.egress.mode firewall, with a firewall to allow them (a hub "
            "firewall's rules are its owners'; the load balancer filters nothing)",
        )
    if e.has("routeNodePools") and mode != "firewall":
        e.fail(
            "routeNodePools",
            e.data["routeNodePools"],
            "only with network.egress.mode firewall (moving an existing cluster to the firewall "
            "the program creates)",
        )
    return EgressSettings(
        mode=mode,
        firewall_subnet=subnet,
        hub_firewall_ip=hub_ip,
        allowed_fqdns=fqdns,
        route_node_pools=e.boolean("routeNodePools", True),
    )


def production_egress_problem(
    egress: EgressSettings, aidbox_egress_cidrs: tuple[str, ...]
) -> tuple[str, object, str] | None:
    """The unsafe production combination: nothing filters the nodes' egress, and Aidbox may
    open HTTPS to anywhere. Through a firewall, or with Aidbox narrowed, it is not."""
    wide = [c for c in aidbox_egress_cidrs if is_wide(c)]
    # mode firewall with routeNodePools false is the first step of moving onto the firewall,
    # and no worse than before it (load.py warns; the policy pack still refuses it).
    if egress.mode != "loadBalancer" or not wide:
        return None
    return (
        "network.egress.mode",
        egress.mode,
        f"firewall or hubFirewall on production while network.aidboxEgressCidrs opens {wide} "
        "(the main path for health data to leave): egress through a firewall that allows only "
        "what the cluster and Aidbox need (firewall: created here, about $1.25/hour; "
        "hubFirewall: your hub's), or narrow network.aidboxEgressCidrs to ranges of "
        f"/{NARROW_PREFIX} or smaller (e.g. your egress proxy's)",
    )


def public_host_problem(egress: EgressSettings, host: str | None) -> tuple[str, object, str] | None:
    """A public Ingress behind a firewall: the application routing add-on's public load balancer
    takes the request, and the route sends the reply to the firewall, which never saw the
    connection and drops it (asymmetric routing; Azure Firewall, "Integrate Azure Firewall with
    Azure Standard Load Balancer")."""
    if host is None or not egress.through_firewall:
        return None
    return (
        "aidbox.host",
        host,
        f"not with network.egress.mode {egress.mode}: replies from the application routing "
        "add-on's public load balancer would leave through the firewall, which drops them "
        "(asymmetric routing). Publish Aidbox through your hub's ingress (Application Gateway, "
        "or the firewall's DNAT to an internal load balancer), or use network.egress.mode "
        "loadBalancer with network.aidboxEgressCidrs narrowed on production",
    )
