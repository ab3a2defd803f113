"""Issue 21 #3: images from a registry you own. Production's Azure Container Registry (Premium,
private endpoint, no admin user, no public access) holds copies of every pinned image;
scripts/import-images.sh copies them (`az acr import`, against a stand-in Azure CLI and Pulumi
CLI: neither service runs here) and records them; pods and Helm charts pull only from it, and
the settings refuse a stack whose record lacks an image."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import cases
import pytest
from harness import (
    AZURE_DEV,
    KUBELET_OBJECT,
    ROOT,
    SUBSCRIPTION,
    StackRun,
    run_stack,
    stack_config,
    with_imports,
)
from test_helm_render import installs

import charts
from components import images, versions
from components.azure import roles
from components.settings import SettingsError, parse_settings
from components.settings.aidbox import DEFAULT_AIDBOX_IMAGE

PROD = "Pulumi.prod.yaml"
REGISTRY = "azure-native:containerregistry:Registry"
ROLE = "azure-native:authorization:RoleAssignment"
SECRETS = {"client-secret": {"scope": "Client/basic"}}
IMPORTED = [
    i.source
    for i in images.required(
        aidbox_image=DEFAULT_AIDBOX_IMAGE,
        postgres_image="postgres:17.6",
        csi_helm=True,
        azure_provider=True,
        vault_mode="ha",
    )
]


def parse(raw: dict[str, Any], **kwargs: Any):
    return parse_settings(
        {"secretStore": "azure", "secrets": SECRETS, **raw},
        project="aidbox-secrets",
        stack="prod",
        secret_keys=frozenset({"aidboxLicense"}),
        **kwargs,
    )


# -- where each image comes from (pure) ------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "source", "target"),
    [
        ("postgres:17.6", "docker.io/library/postgres:17.6", "library/postgres:17.6"),
        (
            "healthsamurai/aidboxone:2605.1",
            "docker.io/healthsamurai/aidboxone:2605.1",
            "healthsamurai/aidboxone:2605.1",
        ),
        (
            "registry.k8s.io/sig-storage/livenessprobe:v2.18.0",
            "registry.k8s.io/sig-storage/livenessprobe:v2.18.0",
            "sig-storage/livenessprobe:v2.18.0",
        ),
        (
            "localhost:5000/aidbox:1",
            "localhost:5000/aidbox:1",
            "aidbox:1",
        ),
        (
            "healthsamurai/aidboxone@sha256:" + "ab" * 32,
            "docker.io/healthsamurai/aidboxone@sha256:" + "ab" * 32,
            "healthsamurai/aidboxone:sha256-" + "ab" * 8,
        ),
    ],
)
def test_references_split_into_source_and_copy(reference: str, source: str, target: str) -> None:
    ref = images.parse(reference)
    assert (ref.source, ref.target) == (source, target)
    assert images.pull(reference, None) == reference  # no registry: as configured
    pulled = images.pull(reference, "acrx.azurecr.io")
    assert pulled.startswith("acrx.azurecr.io/") and pulled.endswith(ref.suffix)


@pytest.mark.parametrize("chart", versions.CHARTS, ids=lambda c: c.name)
def test_the_pinned_chart_images_are_the_charts_own(chart: versions.Chart) -> None:
    """A chart bump that changes its images fails here until versions.py (and so the imports)
    follows."""
    defaults = charts.chart_values(chart)
    for image in chart.images:
        node = defaults
        for key in image.values_key.split("."):
            node = node[key]
        assert (
            images.parse(f"{node['repository']}:{node['tag']}").source
            == images.parse(image.reference).source
        ), image.values_key


# -- settings ----------------------------------------------------------------------------------


def test_production_defaults_to_its_own_registry_and_dev_to_public_ones() -> None:
    production = parse(
        {
            "production": True,
            "aidboxLicense": "l",
            "aidbox": {
                "replicas": 2,
                "image": "healthsamurai/aidboxone:2605.0",
                "internal": {"baseUrl": "https://fhir.example.org"},
            },
            "cluster": {
                "apiServerAuthorizedRanges": ["203.0.113.0/28"],
                "adminGroupObjectIds": ["0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"],
            },
        },
        registry_bootstrap=True,
    )
    assert production.registry.mode == "acr" and not production.registry.public_network_access
    assert parse({}).registry.mode == "upstream"


def test_pods_pull_only_what_the_registry_holds() -> None:
    raw = {"registry": {"mode": "acr", "imported": IMPORTED[1:]}}
    with pytest.raises(SettingsError) as error:
        parse(raw)
    message = str(error.value)
    assert message.startswith("aidbox-secrets:registry.imported = [")
    assert images.parse(DEFAULT_AIDBOX_IMAGE).source in message
    assert "bash scripts/import-images.sh prod" in message
    # The import script's own targeted `up` creates the registry before anything is in it.
    assert parse(raw, registry_bootstrap=True).registry.mode == "acr"
    assert parse({"registry": {"mode": "acr", "imported": IMPORTED}}).registry.owned


@pytest.mark.parametrize(
    ("registry", "cluster", "message"),
    [
        ({"mode": "acr"}, {"mode": "kubeconfig"}, "external .* or upstream with cluster.mode"),
        ({"mode": "external"}, {}, "registry.server = None .* required"),
        ({"mode": "external", "server": "https://r.example"}, {}, "a registry host"),
        ({"mode": "acr", "name": "acr-x"}, {}, "5-50 letters and digits"),
        ({"name": "acrx1"}, {}, "only with registry.mode acr"),
        ({"publicNetworkAccess": True}, {}, "only with registry.mode acr"),
        ({"imported": ["docker.io/library/postgres:17.6"]}, {}, "acr or external"),
    ],
)
def test_registry_settings_refuse_what_cannot_work(
    registry: dict, cluster: dict, message: str
) -> None:
    raw: dict[str, Any] = {"registry": registry}
    if cluster:
        raw = {
            "secretStore": "vault",
            "vault": {"mode": "dev"},
            "cluster": {**cluster, "kubeconfigPath": str(cases.TEST_KUBECONFIG)},
            "registry": registry,
        }
    with pytest.raises(SettingsError, match=message):
        parse(raw, registry_bootstrap=True)


# -- the registry the program creates ---------------------------------------------------------


def _prod() -> StackRun:
    return cases.run(PROD)


def test_production_registry_is_premium_private_and_passwordless() -> None:
    run = _prod()
    registry = run.one(REGISTRY).props
    assert registry["sku"] == {"name": "Premium"}
    assert registry["adminUserEnabled"] is False and registry["anonymousPullEnabled"] is False
    assert registry["publicNetworkAccess"] == "Disabled"
    assert registry["networkRuleBypassOptions"] == "AzureServices"
    assert registry["zoneRedundancy"] == "Enabled"
    assert re.fullmatch(r"acr[a-z0-9]{2,42}", registry["registryName"])
    endpoint = run.named("registry-endpoint").props
    assert endpoint["subnet"]["id"].endswith("/subnets/snet-private-endpoints")
    (connection,) = endpoint["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["registry"]
    assert run.named("registry-dns").props["privateZoneName"] == "privatelink.azurecr.io"
    assert run.named("registry-dns-link").props["virtualNetwork"]["id"] == run.output("vnetId")
    group = run.named("registry-endpoint-dns").props
    assert group["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == "registry-dns-id"
    assert run.output("containerRegistry") == registry["registryName"]


def test_the_kubelet_identity_may_pull_and_nothing_more() -> None:
    run = _prod()
    registry = run.one(REGISTRY).props["registryName"]
    scope = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-aidbox-secrets-prod/providers/"
        f"Microsoft.ContainerRegistry/registries/{registry}"
    )
    (pull,) = [r for r in run.of_type(ROLE) if r.props["scope"] == scope]
    assert pull.props["roleDefinitionId"].endswith(f"/roleDefinitions/{roles.ACR_PULL}")
    assert (pull.props["principalId"], pull.props["principalType"]) == (
        KUBELET_OBJECT,
        "ServicePrincipal",
    )
    assert roles.ASSIGNED[roles.ACR_PULL] == "AcrPull"


def _images_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["image"]] if isinstance(value.get("image"), str) else []
        return found + [i for v in value.values() for i in _images_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in _images_in(v)]
    return []


@pytest.mark.parametrize("case", [PROD, "vault-ha-acr"])
def test_every_pod_pulls_from_the_registry(case: str) -> None:
    """The program's Deployments, StatefulSets, Jobs (the database role) and CronJobs (an ha
    Vault's snapshots), and every object the vendored charts render (real Helm) with the values
    the program passes: no image from a public registry."""
    run = cases.run(case)
    server = f"{run.one(REGISTRY).props['registryName']}.azurecr.io/"
    workloads = [
        r for r in run.resources if r.type.startswith(("kubernetes:apps/", "kubernetes:batch/"))
    ]
    kinds = {r.type.rsplit(":", 1)[1] for r in workloads}
    assert {"Deployment", "Job"} | ({"CronJob"} if cases.settings(case).vault else set()) <= kinds
    pulled = [i for r in workloads for i in _images_in(r.props)]
    for install in installs(case):
        pulled += [i for obj in install.render().objects for i in _images_in(obj)]
    assert pulled and not [i for i in pulled if not i.startswith(server)], pulled
    wanted = {
        images.parse(s).at(server.rstrip("/")) for s in cases.settings(case).registry.imported
    }
    assert set(pulled) <= wanted


def test_dev_pulls_as_configured() -> None:
    run = run_stack(AZURE_DEV)
    deployment = run.k8s("apps/v1:Deployment", "aidbox")
    assert _images_in(deployment.props) == [DEFAULT_AIDBOX_IMAGE]
    assert not run.of_type(REGISTRY)
    driver = run.named("csi-driver").props["values"]
    assert "image" not in driver.get("linux", {})


# -- scripts/import-images.sh against stand-ins for the Azure and Pulumi CLIs -------------------

STAND_IN = """#!{python}
# Stand-in for the {tool} CLI (its service cannot run here): logs each call, answers a few.
import json, os, sys
log = os.environ["STAND_IN_LOG"]
with open(log, "a") as f:
    f.write(json.dumps({{"tool": "{tool}", "args": sys.argv[1:],
        "bootstrap": os.environ.get("AIDBOX_SECRETS_REGISTRY_BOOTSTRAP")}}) + "\\n")
state = os.environ["STAND_IN_STATE"]
if "{tool}" == "pulumi" and sys.argv[1:3] == ["stack", "export"]:
    print(open(state).read() if os.path.exists(state) else json.dumps({{"deployment": {{}}}}))
if "{tool}" == "pulumi" and sys.argv[1] == "up":
    registry = {{"type": "azure-native:containerregistry:Registry",
                "outputs": {{"name": "acrbootstrapped12345"}}}}
    json.dump({{"deployment": {{"resources": [registry]}}}}, open(state, "w"))
"""


def _run_script(tmp_path: Path, existing: str | None) -> list[dict]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("az", "pulumi"):
        path = bin_dir / tool
        path.write_text(STAND_IN.format(python=sys.executable, tool=tool))
        path.chmod(0o755)
    state = tmp_path / "state.json"
    if existing:
        registry = {"type": REGISTRY, "outputs": {"name": existing}}
        state.write_text(json.dumps({"deployment": {"resources": [registry]}}))
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STAND_IN_LOG": str(log),
        "STAND_IN_STATE": str(state),
    }
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "import-images.sh"), "prod"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_import_script_creates_the_registry_then_copies_and_records_every_image(
    tmp_path: Path,
) -> None:
    calls = _run_script(tmp_path, existing=None)
    ups = [c for c in calls if c["args"][0] == "up"]
    (up,) = ups
    assert up["bootstrap"] == "1"
    targets = [up["args"][i + 1] for i, a in enumerate(up["args"]) if a == "--target"]
    run = cases.run(PROD)
    assert targets == [run.named("platform-rg").urn, run.named("registry-acr").urn]
    settings = cases.settings(PROD)
    wanted = [(i.source, i.target) for i in images.required_by(settings)]
    imports = [c["args"] for c in calls if c["tool"] == "az"]
    assert [(a[a.index("--source") + 1], a[a.index("--image") + 1]) for a in imports] == wanted
    assert all(a[:2] == ["acr", "import"] and "--force" in a for a in imports)
    assert {a[a.index("--name") + 1] for a in imports} == {"acrbootstrapped12345"}
    recorded = [c["args"] for c in calls if c["args"][:2] == ["config", "set"]]
    assert [a[-1] for a in recorded] == [source for source, _ in wanted]
    assert [a[a.index("--path") + 1] for a in recorded] == [
        f"registry.imported[{i}]" for i in range(len(wanted))
    ]
    # What it recorded is what the settings check (cases.py records the same).
    assert [a[-1] for a in recorded] == list(settings.registry.imported)


def test_import_script_uses_the_stacks_registry_when_it_has_one(tmp_path: Path) -> None:
    calls = _run_script(tmp_path, existing="acrexisting12345")
    assert not [c for c in calls if c["args"][0] == "up"]
    names = {c["args"][c["args"].index("--name") + 1] for c in calls if c["tool"] == "az"}
    assert names == {"acrexisting12345"}


def test_stack_files_record_no_imports() -> None:
    """The record is per deployment, written by the script into the adopter's stack file: the
    committed example says nothing was imported."""
    for path in sorted(ROOT.glob("Pulumi.*.yaml")):
        registry = stack_config(path).get("aidbox-secrets:registry") or {}
        assert "imported" not in registry, path.name
    assert with_imports(stack_config(ROOT / "Pulumi.dev.yaml")) == {
        **stack_config(ROOT / "Pulumi.dev.yaml")
    }
