"""Egress (issue 21 #1): on production the nodes leave through a firewall (one the program
creates, or the hub's), the cluster is created only once the route and the firewall's rules
are in place, and the firewall allows what the cluster, its images and Aidbox need and no
more. Dev stays on the load balancer's outbound (no firewall to pay for)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cases
import pytest
from harness import (
    AZURE_DEV,
    FIREWALL_PUBLIC_IP,
    VAULT_EXTERNAL,
    VAULT_HA_PRODUCTION,
    VAULT_HA_PRODUCTION_SECRETS,
    run_stack,
)

from components.aidbox.destinations import aidbox_destinations
from components.azure.egress_rules import (
    AKS_FQDN_TAG,
    REGISTRY_FQDNS,
    EgressNeeds,
    image_registry,
    program_registries,
    rule_collections,
)
from components.azure.firewall import NextHopMismatch, check_next_hop
from components.settings import SettingsError, parse_settings
from components.settings.egress import firewall_private_ip

CLUSTER = "azure-native:containerservice:ManagedCluster"
VNET = "azure-native:network:VirtualNetwork"
ROUTE_TABLE = "azure-native:network:RouteTable"
FIREWALL = "azure-native:network:AzureFirewall"
RULES = "azure-native:network:FirewallPolicyRuleCollectionGroup"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
NODE_SUBNETS = ("snet-aks-system", "snet-aks-user")


def subnets(run: Any) -> dict[str, dict]:
    return {s["name"]: s for s in run.one(VNET).props["subnets"]}


def test_production_nodes_leave_through_the_created_firewall() -> None:
    run = cases.run("Pulumi.prod.yaml")
    assert run.one(CLUSTER).props["networkProfile"]["outboundType"] == "userDefinedRouting"
    table = run.one(ROUTE_TABLE)
    assert table.props["routes"] == [
        {
            "name": "default-via-firewall",
            "addressPrefix": "0.0.0.0/0",
            "nextHopType": "VirtualAppliance",
            "nextHopIpAddress": "10.240.10.4",
        }
    ]
    found = subnets(run)
    for name in NODE_SUBNETS:
        assert found[name]["routeTable"] == {"id": f"{table.name}-id"}
    # Key Vault and PostgreSQL are reached inside the network, never through the firewall.
    for name in ("snet-private-endpoints", "snet-postgres", "AzureFirewallSubnet"):
        assert "routeTable" not in found[name], name
    assert found["AzureFirewallSubnet"]["addressPrefix"] == "10.240.10.0/26"
    firewall = run.one(FIREWALL).props
    assert firewall["sku"] == {"name": "AZFW_VNet", "tier": "Standard"}
    assert firewall["zones"] == ["1", "2", "3"]


def test_the_cluster_waits_for_the_firewall_and_its_rules() -> None:
    """With userDefinedRouting, AKS checks the route at creation and the nodes pull their
    images through the firewall: both must be in place first."""
    run = cases.run("Pulumi.prod.yaml")
    cluster = run.one(CLUSTER)
    assert run.one(FIREWALL).urn in cluster.dependencies
    assert run.one(ROUTE_TABLE).urn in run.one(VNET).dependencies
    assert run.one(RULES).urn in run.one(FIREWALL).dependencies


def test_the_firewall_address_is_allowed_on_the_api_server() -> None:
    """The nodes reach the public API server from the firewall's address now."""
    run = cases.run("Pulumi.prod.yaml")
    configured = list(cases.settings("Pulumi.prod.yaml").cluster.api_server_authorized_ranges)
    ranges = run.one(CLUSTER).props["apiServerAccessProfile"]["authorizedIPRanges"]
    assert ranges == [*configured, f"{FIREWALL_PUBLIC_IP}/32"]
    assert run.one(PUBLIC_IP).props["sku"] == {"name": "Standard", "tier": "Regional"}


@pytest.mark.parametrize("file", ["Pulumi.dev.yaml", "Pulumi.dev-vault.yaml"])
def test_dev_stays_on_the_load_balancer(file: str) -> None:
    run = cases.run(file)
    assert run.one(CLUSTER).props["networkProfile"]["outboundType"] == "loadBalancer"
    assert not run.of_type(ROUTE_TABLE) and not run.of_type(FIREWALL)
    assert "AzureFirewallSubnet" not in subnets(run)


HUB = {"mode": "hubFirewall", "hubFirewallIp": "10.200.0.4"}


def test_a_hub_firewall_is_the_next_hop_and_nothing_is_created_for_it() -> None:
    run = run_stack({**AZURE_DEV, "network": {"egress": HUB}})
    assert run.one(CLUSTER).props["networkProfile"]["outboundType"] == "userDefinedRouting"
    (route,) = run.one(ROUTE_TABLE).props["routes"]
    assert route["nextHopIpAddress"] == "10.200.0.4"
    assert not run.of_type(FIREWALL) and not run.of_type(PUBLIC_IP)
    assert "AzureFirewallSubnet" not in subnets(run)


def test_an_ha_vault_production_stack_gets_the_firewall_too() -> None:
    run = run_stack(VAULT_HA_PRODUCTION, secret_keys=VAULT_HA_PRODUCTION_SECRETS, stack="prod")
    assert run.one(CLUSTER).props["networkProfile"]["outboundType"] == "userDefinedRouting"
    assert run.of_type(FIREWALL)


# --- settings -----------------------------------------------------------------------------


def parse(raw: dict[str, Any], **kwargs: Any):
    base = {"secretStore": "azure", "secrets": {"client-secret": {"scope": "Client/basic"}}}
    return parse_settings({**base, **raw}, project="aidbox-secrets", stack="dev", **kwargs)


def test_egress_defaults() -> None:
    assert parse({}).network.egress.mode == "loadBalancer"
    assert parse({}).network.egress.outbound_type == "loadBalancer"
    prod = cases.settings("Pulumi.prod.yaml").network.egress
    assert (prod.mode, prod.outbound_type, prod.next_hop) == (
        "firewall",
        "userDefinedRouting",
        "10.240.10.4",
    )
    hub = parse({"network": {"egress": HUB}}).network.egress
    assert (hub.outbound_type, hub.next_hop) == ("userDefinedRouting", "10.200.0.4")


@pytest.mark.parametrize(
    ("egress", "expected"),
    [
        ({"mode": "nat"}, "network.egress.mode = 'nat' is not valid: expected one of"),
        ({"mode": "hubFirewall"}, "network.egress.hubFirewallIp = None is not valid: required"),
        (
            {"mode": "hubFirewall", "hubFirewallIp": "8.8.8.8"},
            "a private IPv4 address (the hub firewall's, inside your network)",
        ),
        (
            {"mode": "hubFirewall", "hubFirewallIp": "10.240.0.4"},
            "outside network.addressSpace (10.240.0.0/16)",
        ),
        ({"mode": "firewall", "firewallSubnet": "10.240.10.0/27"}, "a /26 or larger"),
        ({"mode": "firewall", "firewallSubnet": "10.240.4.0/26"}, "does not overlap"),
        ({"mode": "firewall", "firewallSubnet": "10.250.0.0/26"}, "inside network.addressSpace"),
        ({"hubFirewallIp": "10.200.0.4"}, "only with network.egress.mode hubFirewall"),
        (
            {
                "mode": "hubFirewall",
                "hubFirewallIp": "10.200.0.4",
                "firewallSubnet": "10.240.10.0/26",
            },
            "only with network.egress.mode firewall",
        ),
        ({"allowedFqdns": ["https://partner.example"]}, "host names such as partner.example"),
        ({"allowedFqdns": ["*"]}, "host names such as partner.example"),
        ({"allowedFqdns": ["partner.example"]}, "with a firewall to allow them"),
        ({"cidr": "10.0.0.0/8"}, "unknown key"),
    ],
)
def test_bad_egress_is_refused(egress: dict, expected: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse({"network": {"egress": egress}})
    assert expected in str(error.value), str(error.value)


def test_a_public_host_behind_a_firewall_is_refused() -> None:
    """Replies to the add-on's public load balancer would leave through the firewall, which
    never saw the connection and drops them (asymmetric routing)."""
    raw = {
        "network": {"egress": HUB},
        "aidbox": {"host": "fhir.example.org", "tls": {"secretName": "fhir-tls"}},
    }
    with pytest.raises(SettingsError) as error:
        parse(raw)
    assert str(error.value).startswith("aidbox-secrets:aidbox.host = 'fhir.example.org'")
    assert "asymmetric" in str(error.value)


@pytest.mark.parametrize("mode", ["existingAks", "kubeconfig"])
def test_egress_belongs_to_the_network_the_program_creates(mode: str, tmp_path: Any) -> None:
    cluster: dict[str, Any] = {"mode": mode}
    raw: dict[str, Any] = {"network": {"egress": HUB}}
    if mode == "existingAks":
        cluster |= {"name": "aks", "resourceGroup": "rg"}
    else:
        raw["secretStore"] = "vault"
        raw["vault"] = {"mode": "dev"}
        cluster["kubeconfigPath"] = str(cases.TEST_KUBECONFIG)
    with pytest.raises(SettingsError) as error:
        parse({**raw, "cluster": cluster})
    assert "network.egress" in str(error.value)


def test_production_may_keep_the_load_balancer_only_with_narrow_aidbox_egress() -> None:
    prod = prod_raw()
    narrow = {"mode": "loadBalancer"}
    raw = {**prod, "network": {"egress": narrow, "aidboxEgressCidrs": ["198.51.100.7/32"]}}
    assert parse_prod(raw).network.egress.mode == "loadBalancer"
    for wide in (["0.0.0.0/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["20.0.0.0/8"]):
        with pytest.raises(SettingsError) as error:
            parse_prod({**prod, "network": {"egress": narrow, "aidboxEgressCidrs": wide}})
        assert str(error.value).startswith("aidbox-secrets:network.egress.mode = 'loadBalancer'")


def prod_raw() -> dict[str, Any]:
    config = cases.CASES["Pulumi.prod.yaml"].config
    prefix = "aidbox-secrets:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def parse_prod(raw: dict[str, Any]):
    return parse_settings(
        raw,
        project="aidbox-secrets",
        stack="prod",
        secret_keys=frozenset({"aidboxLicense"}),
    )


# --- the firewall's rules (pure) ----------------------------------------------------------


def test_first_usable_address_of_the_firewall_subnet() -> None:
    assert firewall_private_ip("10.240.10.0/26") == "10.240.10.4"
    assert firewall_private_ip("192.168.7.64/26") == "192.168.7.68"


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("healthsamurai/aidboxone:2605.1", "docker.io"),
        ("postgres:17.6", "docker.io"),
        ("docker.io/library/postgres:17.6", "docker.io"),
        ("index.docker.io/hashicorp/vault:1.21.0", "docker.io"),
        ("registry.example/aidboxone:2602.1", "registry.example"),
        ("acrclinic.azurecr.io/aidboxone@sha256:" + "0" * 64, "acrclinic.azurecr.io"),
        ("registry.example:5000/aidbox:1", "registry.example:5000"),
        ("localhost/aidbox:1", "localhost"),
    ],
)
def test_the_registry_an_image_comes_from(image: str, host: str) -> None:
    assert image_registry(image) == host


def test_the_registries_follow_the_images_the_program_deploys() -> None:
    azure = cases.settings("Pulumi.dev.yaml")
    # Helm driver (registry.k8s.io), Azure provider (MCR), Aidbox and the database role Job's
    # PostgreSQL (Docker Hub); no Vault.
    assert program_registries(azure) == ("docker.io", "mcr.microsoft.com", "registry.k8s.io")
    # Production pulls every image from its own registry through the private endpoint, which
    # is in the network and never routed to the firewall: no public registry to allow.
    assert program_registries(cases.settings("Pulumi.prod.yaml")) == ()
    external = replace(
        azure,
        registry=replace(azure.registry, mode="external", server="registry.example.org/aidbox"),
    )
    assert program_registries(external) == ("registry.example.org",)
    addon = cases.settings("azure-aksAddon")
    assert "registry.k8s.io" not in program_registries(addon)
    vault = cases.settings("Pulumi.dev-vault.yaml")
    assert program_registries(vault) == ("docker.io", "registry.k8s.io")
    # An ha Vault's snapshot job uploads with the Azure CLI's image, from MCR.
    assert "mcr.microsoft.com" in program_registries(cases.settings("vault-ha"))
    sized = parse(
        {"aidbox": {"image": "registry.example/aidboxone:2602.1"}},
    )
    assert "registry.example" in program_registries(sized)
    # Docker Hub pulls only through these; every known registry has its hosts.
    assert REGISTRY_FQDNS["docker.io"] == (
        "registry-1.docker.io",
        "auth.docker.io",
        "production.cloudflare.docker.com",
        "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
    )


def application_rules(collections: list[dict]) -> dict[str, dict]:
    return {
        rule["name"]: rule
        for c in collections
        for rule in c["rules"]
        if rule["rule_type"] == "ApplicationRule"
    }


NEEDS = EgressNeeds(
    location="westeurope",
    sources=("10.240.0.0/22", "10.240.4.0/22"),
    registries=("docker.io", "mcr.microsoft.com", "registry.k8s.io"),
    aidbox=("aidbox.app", "*.aidbox.app", "tx.health-samurai.io", "fs.get-ig.org"),
    prometheus=True,
    container_insights=True,
    public_api_server=True,
)


def test_the_rules_allow_what_aks_its_images_and_aidbox_need() -> None:
    collections = rule_collections(NEEDS)
    assert [c["priority"] for c in collections] == sorted(c["priority"] for c in collections)
    rules = application_rules(collections)
    assert rules["aks"]["fqdn_tags"] == [AKS_FQDN_TAG] == ["AzureKubernetesService"]
    assert set(rules["images"]["target_fqdns"]) >= {
        "registry-1.docker.io",
        "mcr.microsoft.com",
        "*.data.mcr.microsoft.com",
        "registry.k8s.io",
    }
    assert rules["aidbox"]["target_fqdns"] == list(NEEDS.aidbox)
    assert "*.metrics.ingest.monitor.azure.com" in rules["azure-monitor"]["target_fqdns"]
    assert "westeurope.handler.control.monitor.azure.com" in rules["azure-monitor"]["target_fqdns"]
    for rule in rules.values():
        assert rule["protocols"] == [{"protocol_type": "Https", "port": 443}], rule["name"]
        assert rule["source_addresses"] == list(NEEDS.sources)
    # Key Vault and PostgreSQL are private endpoints: never a firewall rule.
    everything = repr(collections)
    assert "vault.azure.net" not in everything and "postgres.database" not in everything


def test_nothing_is_allowed_for_what_is_off() -> None:
    quiet = EgressNeeds(
        location="westeurope",
        sources=("10.240.0.0/22",),
        registries=("docker.io",),
        aidbox=(),
        prometheus=False,
        container_insights=False,
        public_api_server=False,
    )
    collections = rule_collections(quiet)
    rules = application_rules(collections)
    assert set(rules) == {"aks", "azure-policy", "images"}
    # A private API server is reached in the network: no rule to the region's Azure addresses.
    assert not [r for c in collections for r in c["rules"] if r["rule_type"] == "NetworkRule"]
    # Images from the stack's own registry come through its private endpoint: no rule, and no
    # empty rule or collection (Azure refuses both).
    own_registry = rule_collections(replace(quiet, registries=()))
    assert set(application_rules(own_registry)) == {"aks", "azure-policy"}
    assert all(c["rules"] for c in own_registry)


def test_the_api_server_rule_when_it_is_public() -> None:
    (network,) = [
        r for c in rule_collections(NEEDS) for r in c["rules"] if r["rule_type"] == "NetworkRule"
    ]
    assert network["destination_addresses"] == ["AzureCloud.westeurope"]
    assert (network["ip_protocols"], network["destination_ports"]) == (["TCP"], ["443"])


def test_aidbox_destinations_follow_its_settings() -> None:
    s = parse({})
    assert aidbox_destinations(s) == (
        "aidbox.app",
        "*.aidbox.app",
        "fs.get-ig.org",
        "tx.health-samurai.io",
    )
    local = parse({"aidbox": {"env": {"BOX_FHIR_TERMINOLOGY_ENGINE": "local"}}})
    assert "tx.health-samurai.io" not in aidbox_destinations(local)
    other = parse({"aidbox": {"env": {"BOX_FHIR_NPM_PACKAGE_REGISTRY": "https://npm.example/p"}}})
    assert "npm.example" in aidbox_destinations(other)
    assert "fs.get-ig.org" not in aidbox_destinations(other)
    extra = parse(
        {"network": {"egress": {"mode": "firewall", "allowedFqdns": ["hooks.partner.example"]}}}
    )
    assert aidbox_destinations(extra)[-1] == "hooks.partner.example"


def test_an_existing_cluster_moves_onto_the_firewall_in_two_steps() -> None:
    """routeNodePools false: the firewall and its subnet exist, and its address is on the API
    server's list, before any route sends the running nodes to it."""
    raw = prod_raw()
    raw["network"] = {"egress": {"mode": "firewall", "routeNodePools": False}}
    config = {f"aidbox-secrets:{k}": v for k, v in raw.items()}
    config["azure-native:location"] = "westeurope"
    run = run_stack(config, secret_keys=["aidboxLicense"], stack="prod")
    cluster = run.one(CLUSTER)
    assert cluster.props["networkProfile"]["outboundType"] == "loadBalancer"
    assert not run.of_type(ROUTE_TABLE)
    assert run.one(FIREWALL).urn not in cluster.dependencies
    ranges = cluster.props["apiServerAccessProfile"]["authorizedIPRanges"]
    assert f"{FIREWALL_PUBLIC_IP}/32" in ranges
    assert "AzureFirewallSubnet" in subnets(run)
    # Accepted as a step on production (load.py warns); hub and load balancer take no such key.
    assert not parse_prod(raw).network.egress.through_firewall
    with pytest.raises(SettingsError) as error:
        parse({"network": {"egress": {**HUB, "routeNodePools": False}}})
    assert "network.egress.routeNodePools" in str(error.value)


def test_the_cluster_is_not_created_behind_a_route_to_nowhere() -> None:
    class Config:
        def __init__(self, address: str | None) -> None:
            self.private_ip_address = address

    check_next_hop("10.240.10.4", [Config("10.240.10.4")])
    check_next_hop("10.240.10.4", [Config(None)])  # preview: not known yet
    with pytest.raises(NextHopMismatch, match=r"got the private address 10\.240\.10\.5"):
        check_next_hop("10.240.10.4", [Config("10.240.10.5")])


def test_production_defaults_to_the_firewall_and_locks_without_saying_so() -> None:
    raw = {k: v for k, v in prod_raw().items() if k not in ("network", "locks")}
    s = parse_prod(raw)
    assert (s.network.egress.mode, s.locks) == ("firewall", True)


def test_an_external_vault_is_let_through_on_its_port() -> None:
    by_name = replace(NEEDS, vault_address="https://vault.example:8200/prefix")
    rules = application_rules(rule_collections(by_name))
    assert rules["vault"]["target_fqdns"] == ["vault.example"]
    assert rules["vault"]["protocols"] == [{"protocol_type": "Https", "port": 8200}]
    by_address = replace(NEEDS, vault_address="http://203.0.113.9")
    (vault,) = [r for c in rule_collections(by_address) for r in c["rules"] if r["name"] == "vault"]
    assert vault["rule_type"] == "NetworkRule"
    assert (vault["destination_addresses"], vault["destination_ports"]) == (["203.0.113.9"], ["80"])
    # The program passes it on: an external Vault behind the program's firewall.
    run = run_stack(
        {**VAULT_EXTERNAL, "network": {"egress": {"mode": "firewall"}}}, secret_keys=["vault"]
    )
    collections = run.one(RULES).props["ruleCollections"]
    names = [r["name"] for c in collections for r in c["rules"]]
    assert "vault" in names
    assert "vault" not in repr(rule_collections(NEEDS))
