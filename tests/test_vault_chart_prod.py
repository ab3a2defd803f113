"""The Vault chart as the program installs it, rendered by real Helm (issue 19, Vault items 11-13):
pinned images, the addresses Vault advertises are names its certificate holds, a renewed
certificate changes the pods' template, and telemetry that a sealed or standby pod still
serves."""

from __future__ import annotations

import re
from typing import Any

import cases
import pytest
import yaml
from cases import VAULT_CASES, settings
from harness import VAULT_CERT_PEM, VAULT_HA_INIT, Mocks, run_stack
from test_helm_render import Install, install_of, installs

import charts
from components import images, versions
from components.kubernetes import helm_values
from components.stores.vault_access import vault_server_dns_names

HA_CASE = "vault-ha"
TLS_CHECKSUM = "aidbox-secrets/tls-checksum"


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = obj["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _login_server(case: str) -> str | None:
    """The registry the case's pods pull from, when it has one of its own."""
    registry = cases.run(case).of_type("azure-native:containerregistry:Registry")
    return f"{registry[0].props['registryName']}.azurecr.io" if registry else None


@pytest.mark.parametrize("case", VAULT_CASES)
def test_every_vault_chart_image_is_pinned_by_the_program(case: str) -> None:
    install = install_of(case, versions.VAULT)
    assert install is not None
    server = _login_server(case)

    def values_of(image: versions.Image) -> dict[str, str]:
        """The pin, or (a registry of the stack's own) its copy there."""
        pulled = images.pull(image.reference, server).rsplit(":", 1)
        return {"repository": pulled[0], "tag": pulled[1]}

    pinned = {
        images.pull(image.reference, server)
        for image in (versions.VAULT_IMAGE, versions.VAULT_CSI_PROVIDER_IMAGE)
    }
    rendered = {
        c["image"]
        for obj in install.render().objects
        if obj.get("kind") in ("StatefulSet", "DaemonSet", "Deployment")
        for c in _containers(obj)
    }
    assert rendered and rendered <= pinned, rendered
    # Pinned in the values, not left to the chart's defaults (a chart bump must not move them).
    values = install.values
    assert values["csi"]["image"] == values_of(versions.VAULT_CSI_PROVIDER_IMAGE)
    assert values["csi"]["agent"]["image"] == values_of(versions.VAULT_IMAGE)
    if "server" in values:
        assert values["server"]["image"] == values_of(versions.VAULT_IMAGE)


def test_the_pinned_vault_is_the_charts_app_version_and_the_e2e_gap_is_stated() -> None:
    chart = yaml.safe_load(charts.chart_file(versions.VAULT, "Chart.yaml") or b"")
    assert versions.VAULT_IMAGE.tag == chart["appVersion"]
    assert versions.VAULT_IMAGE.repository == "hashicorp/vault"  # Community Edition
    # The end-to-end run builds Vault from the Go module proxy, which has no Vault 2 module:
    # it runs E2E_VAULT_VERSION, and docs/testing.md says so.
    go_mod = (charts.ROOT / "scripts" / "e2e" / "vault" / "go.mod").read_text()
    assert f"github.com/hashicorp/vault v{versions.E2E_VAULT_VERSION} " in go_mod
    testing = (charts.ROOT / "docs" / "testing.md").read_text()
    assert f"Vault {versions.E2E_VAULT_VERSION}" in testing
    assert f"hashicorp/vault:{versions.VAULT_IMAGE.tag}" in testing


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion, for the variables defined before this one."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), value)


def _advertised(install: Install, pod: str) -> dict[str, str]:
    server = install.render().named("StatefulSet", "vault")
    assert server is not None
    env: dict[str, str] = {}
    for var in _containers(server)[0]["env"]:
        field = (var.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if field == "metadata.name":
            env[var["name"]] = pod
        elif field == "metadata.namespace":
            env[var["name"]] = install.namespace
        elif "value" in var:
            env[var["name"]] = _expand(var["value"], env)
    return env


def test_vault_advertises_names_its_certificate_holds() -> None:
    """api_addr (standby redirects, Raft's leader address) and cluster_addr must be names the
    server certificate holds: the chart's default `https://$(POD_IP):8200` is not one."""
    install = install_of(HA_CASE, versions.VAULT)
    assert install is not None
    vault = settings(HA_CASE).vault
    names = set(vault_server_dns_names("vault", vault.helm_namespace, vault.replicas))
    for index in range(vault.replicas):
        env = _advertised(install, f"vault-{index}")
        for var, port in (("VAULT_API_ADDR", 8200), ("VAULT_CLUSTER_ADDR", 8201)):
            match = re.fullmatch(rf"https://([^:/$()]+):{port}", env[var])
            assert match, f"{var} = {env[var]!r}"
            assert match[1] in names, f"{var} = {env[var]!r}: not in the certificate"


class RenewedCertificate(Mocks):
    """A later `pulumi up` in the certificate's last 30 days: pulumi-tls issues a new one."""

    def new_resource(self, args: Any) -> tuple[str, dict]:
        rid, out = super().new_resource(args)
        if args.typ == "tls:index/locallySignedCert:LocallySignedCert":
            out["certPem"] = VAULT_CERT_PEM.replace("VAULTSERVER", "RENEWEDSERVER")
        return rid, out


def _ha_values(run: Any) -> dict[str, Any]:
    return run.named("store-chart").props["values"]


def test_a_renewed_certificate_changes_the_pods_template() -> None:
    """Under the chart's OnDelete strategy nothing rolls by itself, and Vault reads its
    certificate only at start or on SIGHUP: the certificate's checksum on the pod template
    makes a renewal visible (the StatefulSet's update revision moves), so the standby-first
    deletion of docs/vault.md, "ha: addresses and certificates" picks it up, and the pods mount
    the Secret that holds it."""
    before = _ha_values(run_stack(VAULT_HA_INIT, secret_keys=["vault"]))
    after = _ha_values(run_stack(VAULT_HA_INIT, secret_keys=["vault"], mocks=RenewedCertificate()))
    old, new = before["server"]["annotations"], after["server"]["annotations"]
    assert old[TLS_CHECKSUM] != new[TLS_CHECKSUM]
    assert old[TLS_CHECKSUM] == helm_values.tls_checksum(
        VAULT_CERT_PEM, "-----BEGIN CERTIFICATE-----\nVAULTCA\n-----END CERTIFICATE-----\n"
    )
    install = install_of(HA_CASE, versions.VAULT)
    assert install is not None
    rendered = {}
    for label, values in (("before", before), ("after", after)):
        server = install.render(values).named("StatefulSet", "vault")
        assert server is not None
        rendered[label] = server["spec"]["template"]
    assert rendered["before"] != rendered["after"]
    assert rendered["after"]["metadata"]["annotations"][TLS_CHECKSUM] == new[TLS_CHECKSUM]
    # ... and what the pods mount is the Secret that holds the certificate.
    volumes = {v["name"]: v for v in rendered["after"]["spec"]["volumes"]}
    assert volumes["vault-tls"]["secret"]["secretName"] == "vault-server-tls"
    server = install.render(after).named("StatefulSet", "vault")
    assert server is not None and server["spec"]["updateStrategy"]["type"] == "OnDelete"
    # The chart's own config checksum: a config change shows which pods still run the old one.
    assert "vault.hashicorp.com/config-checksum" in rendered["after"]["metadata"]["annotations"]


def test_ha_vault_serves_metrics_to_prometheus_even_sealed_or_standby() -> None:
    install = install_of(HA_CASE, versions.VAULT)
    assert install is not None
    config = install.render().named("ConfigMap", "vault-config")
    assert config is not None
    hcl = config["data"]["extraconfig-from-values.hcl"]
    listener = hcl[hcl.index('listener "tcp"') : hcl.index('storage "raft"')]
    assert "unauthenticated_metrics_access = true" in listener
    assert 'prometheus_retention_time = "24h"' in hcl and "disable_hostname = true" in hcl


def test_installs_cover_the_ha_case() -> None:
    assert any(i.chart == versions.VAULT for i in installs(HA_CASE))
