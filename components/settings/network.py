"""`network`: the virtual network, its subnets, the cluster's overlay ranges, and what the
Aidbox namespace's NetworkPolicies let in and out."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .. import naming
from .egress import EgressSettings, parse_egress
from .reader import Section
from .values import cidr, cidrs

# The AKS application routing add-on runs its ingress controller here.
APP_ROUTING_NAMESPACE = "app-routing-system"
SUBNETS = ("systemSubnet", "userSubnet", "privateEndpointSubnet", "postgresSubnet")
# The virtual network this program creates (cluster.mode aks), and how its nodes reach out.
VNET_KEYS = ("addressSpace", *SUBNETS, "podCidr", "serviceCidr", "dnsServiceIp", "egress")
# Subnets of someone else's network (cluster.mode existingAks), by Azure resource id.
SUBNET_ID_KEYS = ("privateEndpointSubnetId", "postgresSubnetId")
# Private DNS zones the network already resolves through (cluster.mode existingAks).
ZONE_ID_KEYS = ("keyVaultPrivateDnsZoneId", "postgresPrivateDnsZoneId")
FOREIGN_KEYS = (*SUBNET_ID_KEYS, *ZONE_ID_KEYS)
POLICY_KEYS = ("ingressNamespaces", "aidboxEgressCidrs")
_SUBNET_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/"
    r"Microsoft\.Network/virtualNetworks/[-\w.]+/subnets/[-\w.]+$",
    re.IGNORECASE,
)
SUBNET_ID_RULE = (
    "a subnet's resource id, /subscriptions/<id>/resourceGroups/<group>/providers/"
    "Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>"
)
_ZONE_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/"
    r"Microsoft\.Network/privateDnsZones/([-\w.]+)$",
    re.IGNORECASE,
)
KEY_VAULT_ZONE = "privatelink.vaultcore.azure.net"
POSTGRES_ZONE_SUFFIX = ".postgres.database.azure.com"
ZONE_ID_RULES = {
    "keyVaultPrivateDnsZoneId": (
        f"the resource id of the private DNS zone {KEY_VAULT_ZONE} (the one Key Vault private "
        "endpoints register in), /subscriptions/<id>/resourceGroups/<group>/providers/"
        f"Microsoft.Network/privateDnsZones/{KEY_VAULT_ZONE}"
    ),
    "postgresPrivateDnsZoneId": (
        "the resource id of a private DNS zone named <name>.postgres.database.azure.com (what "
        "a flexible server with private access registers in), /subscriptions/<id>/"
        "resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/"
        "<name>.postgres.database.azure.com"
    ),
}


def is_zone_id(key: str, value: str) -> bool:
    """Whether `value` is the resource id of a private DNS zone the key can name. Pure."""
    match = _ZONE_ID.match(value)
    if not match:
        return False
    zone = match[1].lower()
    if key == "keyVaultPrivateDnsZoneId":
        return zone == KEY_VAULT_ZONE
    return zone.endswith(POSTGRES_ZONE_SUFFIX) and len(zone) > len(POSTGRES_ZONE_SUFFIX)


def vnet_of(subnet_id: str) -> str:
    """The virtual network a subnet id belongs to."""
    return subnet_id.rsplit("/subnets/", 1)[0]


@dataclass(frozen=True)
class NetworkSettings:
    address_space: str = "10.240.0.0/16"
    system_subnet: str = "10.240.0.0/22"
    user_subnet: str = "10.240.4.0/22"
    private_endpoint_subnet: str = "10.240.8.0/24"
    postgres_subnet: str = "10.240.9.0/24"  # delegated to PostgreSQL Flexible Server
    # Azure CNI Overlay: pods and services get addresses outside the virtual network.
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.0.0.0/16"
    dns_service_ip: str = "10.0.0.10"
    ingress_namespaces: tuple[str, ...] = (APP_ROUTING_NAMESPACE,)
    # cluster.mode existingAks: where the program's private endpoints and managed database go.
    private_endpoint_subnet_id: str | None = None
    postgres_subnet_id: str | None = None
    # cluster.mode existingAks: private DNS zones the network already resolves through; the
    # program then creates no zone (and no link to a network it does not own).
    key_vault_private_dns_zone_id: str | None = None
    postgres_private_dns_zone_id: str | None = None
    # HTTPS egress from Aidbox beyond the cluster (license check, FHIR package registries);
    # private ranges and the instance metadata address stay closed whatever is listed.
    aidbox_egress_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    # cluster.mode aks: the nodes' way out (load balancer, or a firewall's route).
    egress: EgressSettings = field(default_factory=EgressSettings)


def _net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def parse_network(
    top: Section, cluster_mode: str = "aks", production: bool = False
) -> NetworkSettings:
    s = top.section("network")
    if cluster_mode != "aks":
        return parse_foreign_network(s, cluster_mode)
    for name in FOREIGN_KEYS:
        if s.has(name):
            s.fail(
                name,
                s.data[name],
                "only with cluster.mode existingAks: this program creates the network and its "
                "subnets, and links its own private DNS zones to it",
            )
    s.reject_unknown((*VNET_KEYS, *POLICY_KEYS))
    d = NetworkSettings()
    space = cidr(s, "addressSpace", d.address_space)
    subnets = {
        "systemSubnet": cidr(s, "systemSubnet", d.system_subnet),
        "userSubnet": cidr(s, "userSubnet", d.user_subnet),
        "privateEndpointSubnet": cidr(s, "privateEndpointSubnet", d.private_endpoint_subnet),
        "postgresSubnet": cidr(s, "postgresSubnet", d.postgres_subnet),
    }
    for key, value in subnets.items():
        if not _net(value).subnet_of(_net(space)):
            s.fail(key, value, f"a range inside network.addressSpace ({space})")
        if _net(value).prefixlen > 28:
            s.fail(key, value, "at least a /28 (Azure reserves 5 addresses per subnet)")
    keys = list(subnets)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if _net(subnets[a]).overlaps(_net(subnets[b])):
                s.fail(b, subnets[b], f"a range that does not overlap network.{a}")
    egress = parse_egress(s, production, space)
    if egress.mode == "firewall":
        for key, value in subnets.items():
            if _net(value).overlaps(_net(egress.firewall_subnet)):
                s.section("egress").fail(
                    "firewallSubnet",
                    egress.firewall_subnet,
                    f"a range that does not overlap network.{key} ({value})",
                )
    pod = cidr(s, "podCidr", d.pod_cidr)
    service = cidr(s, "serviceCidr", d.service_cidr)
    for key, value in (("podCidr", pod), ("serviceCidr", service)):
        if _net(value).overlaps(_net(space)):
            s.fail(key, value, f"a range outside network.addressSpace ({space})")
    if _net(pod).overlaps(_net(service)):
        s.fail("serviceCidr", service, f"a range that does not overlap podCidr ({pod})")
    dns = s.string("dnsServiceIp", d.dns_service_ip) or d.dns_service_ip
    try:
        inside = ipaddress.IPv4Address(dns) in _net(service)
    except ValueError:
        inside = False
    if not inside or dns == str(_net(service).network_address):
        s.fail("dnsServiceIp", dns, f"an address inside serviceCidr ({service})")
    namespaces = _ingress_namespaces(s)
    return NetworkSettings(
        address_space=space,
        system_subnet=subnets["systemSubnet"],
        user_subnet=subnets["userSubnet"],
        private_endpoint_subnet=subnets["privateEndpointSubnet"],
        postgres_subnet=subnets["postgresSubnet"],
        pod_cidr=pod,
        service_cidr=service,
        dns_service_ip=dns,
        ingress_namespaces=d.ingress_namespaces if namespaces is None else namespaces,
        aidbox_egress_cidrs=cidrs(s, "aidboxEgressCidrs", d.aidbox_egress_cidrs),
        egress=egress,
    )


def _ingress_namespaces(s: Section) -> tuple[str, ...] | None:
    namespaces = s.string_list("ingressNamespaces") if s.has("ingressNamespaces") else None
    for namespace in namespaces or ():
        if not naming.is_valid_k8s_name(namespace):
            s.fail("ingressNamespaces", namespace, f"namespace names: {naming.K8S_NAME_RULE}")
    return namespaces


def parse_foreign_network(s: Section, cluster_mode: str) -> NetworkSettings:
    """A network this program does not create: only what the NetworkPolicies let through and,
    on an existing AKS cluster, the subnets of its network the program places things in."""
    allowed = [*POLICY_KEYS]
    if cluster_mode == "existingAks":
        allowed += [*FOREIGN_KEYS, "postgresSubnet"]
    for name in s.data:
        if (name in VNET_KEYS or name in FOREIGN_KEYS) and name not in allowed:
            s.fail(
                name,
                s.data[name],
                f"not with cluster.mode {cluster_mode}: this program creates no network and "
                "touches no Azure network resource",
            )
    s.reject_unknown(allowed)
    d = NetworkSettings()
    ids = {}
    for name in SUBNET_ID_KEYS:
        value = s.string(name)
        if value is not None and not _SUBNET_ID.match(value):
            s.fail(name, value, SUBNET_ID_RULE)
        ids[name] = value
    for name in ZONE_ID_KEYS:
        value = s.string(name)
        if value is not None and not is_zone_id(name, value):
            s.fail(name, value, ZONE_ID_RULES[name])
        ids[name] = value
    namespaces = _ingress_namespaces(s)
    return NetworkSettings(
        postgres_subnet=cidr(s, "postgresSubnet", d.postgres_subnet),
        ingress_namespaces=d.ingress_namespaces if namespaces is None else namespaces,
        aidbox_egress_cidrs=cidrs(s, "aidboxEgressCidrs", d.aidbox_egress_cidrs),
        private_endpoint_subnet_id=ids["privateEndpointSubnetId"],
        postgres_subnet_id=ids["postgresSubnetId"],
        key_vault_private_dns_zone_id=ids["keyVaultPrivateDnsZoneId"],
        postgres_private_dns_zone_id=ids["postgresPrivateDnsZoneId"],
    )
