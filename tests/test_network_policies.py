"""Pure builders: the Aidbox namespace's NetworkPolicies, the credential-free kubeconfig, and
the managed Prometheus settings. No mocks."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from components.azure.kubeconfig import (
    AKS_SERVER_APP_ID,
    exec_kubeconfig,
    get_credentials_command,
)
from components.kubernetes.network_policies import AIDBOX, DATABASE, aidbox_policies
from components.kubernetes.prometheus import ama_metrics_settings

POLICIES = aidbox_policies(["app-routing-system"], ["0.0.0.0/0"])


def peers(rules: list[dict], key: str) -> list[dict]:
    return [peer for rule in rules for peer in rule[key]]


def test_everything_is_denied_first() -> None:
    deny = POLICIES["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_every_pod_may_resolve_names_and_nothing_else_by_default() -> None:
    (rule,) = POLICIES["allow-dns"]["egress"]
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_aidbox_is_reachable_from_the_ingress_namespace_only() -> None:
    policy = POLICIES["aidbox-ingress"]
    assert policy["podSelector"]["matchLabels"] == AIDBOX
    web, metrics = policy["ingress"]
    assert web["from"] == [
        {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": "app-routing-system"}
            }
        }
    ]
    assert web["ports"] == [{"protocol": "TCP", "port": "http"}]
    assert metrics["ports"] == [{"protocol": "TCP", "port": "metrics"}]
    none = aidbox_policies([], [])["aidbox-ingress"]["ingress"]
    assert [rule["ports"][0]["port"] for rule in none] == ["metrics"]


def test_the_database_takes_aidbox_only_and_aidbox_reaches_it() -> None:
    db = POLICIES["database-ingress"]
    assert db["podSelector"]["matchLabels"] == DATABASE
    # Aidbox, and the Job that creates Aidbox's role as the administrator.
    assert peers(db["ingress"], "from") == [
        {"podSelector": {"matchLabels": AIDBOX}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "aidbox-db-role"}}},
    ]
    egress = POLICIES["aidbox-egress"]["egress"]
    assert egress[0] == {
        "to": [{"podSelector": {"matchLabels": DATABASE}}],
        "ports": [{"protocol": "TCP", "port": 5432}],
    }


def test_https_egress_never_opens_private_ranges_or_metadata() -> None:
    https = POLICIES["aidbox-egress"]["egress"][1]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    (peer,) = https["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "169.254.0.0/16" in peer["ipBlock"]["except"]
    assert "10.0.0.0/8" in peer["ipBlock"]["except"]
    narrow = aidbox_policies([], ["198.51.100.0/24"])["aidbox-egress"]["egress"][1]["to"][0]
    assert narrow == {"ipBlock": {"cidr": "198.51.100.0/24"}}
    assert len(aidbox_policies([], [])["aidbox-egress"]["egress"]) == 1


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_each_policy_is_a_valid_network_policy(name: str) -> None:
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": POLICIES[name],
    }
    kubernetes_validate.validate(obj, "1.34", strict=True)


@pytest.mark.parametrize("login", ["azurecli", "workloadidentity", "msi"])
def test_kubeconfig_runs_kubelogin_and_holds_no_credential(login: str) -> None:
    text = exec_kubeconfig("aks", "https://aks.example:443", "Q0E=", login)
    config = yaml.safe_load(text)
    assert config["clusters"][0]["cluster"] == {
        "server": "https://aks.example:443",
        "certificate-authority-data": "Q0E=",
    }
    (user,) = config["users"]
    assert list(user["user"]) == ["exec"]
    assert user["user"]["exec"]["args"] == [
        "get-token",
        "--login",
        login,
        "--server-id",
        AKS_SERVER_APP_ID,
    ]
    assert user["user"]["exec"]["interactiveMode"] == "Never"
    assert config["current-context"] == "aks"


def test_kubeconfig_refuses_an_interactive_login() -> None:
    with pytest.raises(ValueError):
        exec_kubeconfig("aks", "https://aks.example:443", "Q0E=", "devicecode")


def test_credentials_command() -> None:
    command = get_credentials_command("rg", "aks")
    assert command.startswith("az aks get-credentials --resource-group rg --name aks ")
    assert command.endswith("kubelogin convert-kubeconfig --login azurecli")


def test_prometheus_scrapes_annotated_pods_in_kube_system() -> None:
    data = ama_metrics_settings(["kube-system"])
    assert data["schema-version"] == "v1"
    assert data["pod-annotation-based-scraping"] == 'podannotationnamespaceregex = "kube-system"'
