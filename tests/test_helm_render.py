"""Every Helm Release the program declares, rendered by real Helm (v3, as pulumi-kubernetes
embeds it) from the vendored archive, with exactly the values the program passes, for every
stack file and mode in tests/cases.py:

- every rendered object (CRDs and hooks included) is valid, strictly, at the cluster's version;
- the driver's rotation flags and its Secret-sync RBAC follow the settings;
- the Azure provider chart renders no second driver;
- the Vault chart renders a dev server (its root token from a Secret) and the CSI provider in
  dev mode; Raft over TLS, the Azure Key Vault seal, workload identity and zone spread in ha
  mode; only the CSI provider (nothing of the server) in external mode; the CSI provider
  trusts the private CA where there is one; and no Service of type LoadBalancer;
- no secret value the program holds (the dev root token, the TLS key) is in a rendered object;
- no value the program sets is ignored by the chart: changing it changes the output.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import kubernetes_validate
import pytest
from cases import CASES, VAULT_CASES, run, settings, target_version
from harness import ints, is_secret

import charts
from components import versions
from components.kubernetes.helm_values import DEV_TOKEN_MARKER, VAULT_CA_FILE
from components.kubernetes.metrics import AZURE_PROVIDER_HELM, DRIVER, ScrapeTarget
from components.stores.parameters import secret_objects

RELEASE = "kubernetes:helm.sh/v3:Release"
AUTH_DELEGATOR = "system:auth-delegator"


@dataclass(frozen=True)
class Install:
    """One Helm Release of one case, as the provider would install it."""

    case: str
    resource: str
    chart: versions.Chart
    release: str
    namespace: str
    values_json: str
    kube: str

    @property
    def values(self) -> dict[str, Any]:
        return json.loads(self.values_json)

    def render(self, values: dict[str, Any] | None = None) -> charts.Rendered:
        chosen = self.values if values is None else values
        return charts.template(self.chart, self.release, self.namespace, chosen, self.kube)


@functools.cache
def installs(case: str) -> tuple[Install, ...]:
    found = []
    for release in run(case).of_type(RELEASE):
        props = release.props
        chart = charts.by_archive(props["chart"])
        assert chart is not None, f"{case}: {release.name} installs {props['chart']!r}"
        values = json.dumps(ints(props.get("values") or {}), sort_keys=True)
        kube = target_version(case)
        found.append(
            Install(case, release.name, chart, props["name"], props["namespace"], values, kube)
        )
    return tuple(found)


def install_of(case: str, chart: versions.Chart) -> Install | None:
    matching = [i for i in installs(case) if i.chart == chart]
    assert len(matching) <= 1, f"{case}: {len(matching)} releases of {chart.name}"
    return matching[0] if matching else None


def installs_chart(case: str, chart: versions.Chart) -> bool:
    """Whether the case's settings call for `chart`: read from the parsed settings, so that
    parametrizing runs no program at collection (test_each_case_installs_the_charts_its_settings_
    call_for holds this to what the program declares)."""
    s = settings(case)
    if chart == versions.VAULT:
        return s.secret_store == "vault"
    if s.csi.install != "helm":
        return False
    return chart == versions.CSI_DRIVER or (
        chart == versions.AZURE_PROVIDER and s.secret_store == "azure"
    )


def cases_with(chart: versions.Chart) -> list[str]:
    return [case for case in CASES if installs_chart(case, chart)]


@pytest.mark.parametrize("case", CASES)
def test_each_case_installs_the_charts_its_settings_call_for(case: str) -> None:
    declared = {i.chart.name for i in installs(case)}
    expected = {c.name for c in versions.CHARTS if installs_chart(case, c)}
    assert declared == expected


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


@functools.cache
def _invalid_objects(install: Install) -> tuple[str, ...]:
    """Why rendered objects fail strict validation; cached, since cases share most renders."""
    problems = []
    for obj in install.render().objects:
        where = f"{install.resource}: {obj.get('kind')} {obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, install.kube, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{where}: {error.message} at {list(error.absolute_path)}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where}: no Kubernetes {install.kube} schema")
    return tuple(problems)


@pytest.mark.parametrize("case", CASES)
def test_release_options_mean_what_they_say(case: str) -> None:
    """Helm's `atomic` turns `wait` on (its install action sets Wait when Atomic): a release
    that must not wait (a sealed Vault before its one-time init) cannot be atomic, or Helm waits
    for it anyway, times out and uninstalls it. A release that waits is atomic, so a failed
    first install never leaves a release that blocks the next `up`."""
    for release in run(case).of_type(RELEASE):
        p = release.props
        waits = not p.get("skipAwait")
        assert bool(p.get("atomic")) == waits, (release.name, p.get("atomic"), p.get("skipAwait"))
        assert p.get("cleanupOnFail") is True, release.name


@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_is_valid_at_the_cluster_version(case: str) -> None:
    problems = []
    for install in installs(case):
        assert install.render().objects, f"{case}: {install.resource} renders nothing"
        problems += _invalid_objects(replace(install, case=""))
    assert not problems, f"{case}:\n" + "\n".join(problems)


@pytest.mark.parametrize("case", cases_with(versions.CSI_DRIVER))
def test_driver_rotation_flags_follow_the_settings(case: str) -> None:
    install = install_of(case, versions.CSI_DRIVER)
    assert install is not None
    daemonset = install.render().named("DaemonSet", "csi-secrets-store-secrets-store-csi-driver")
    assert daemonset is not None, f"{case}: no driver DaemonSet"
    driver = next(c for c in _containers(daemonset) if c["name"] == "secrets-store")
    interval = settings(case).csi.rotation_poll_interval
    assert "--enable-secret-rotation=true" in driver["args"]
    assert f"--rotation-poll-interval={interval}" in driver["args"]


def _grants_on_secrets(rendered: charts.Rendered) -> list[str]:
    return [
        role["metadata"]["name"]
        for role in rendered.kinds("ClusterRole")
        for rule in role.get("rules") or []
        if "secrets" in rule.get("resources", []) and "create" in rule.get("verbs", [])
    ]


@pytest.mark.parametrize("case", cases_with(versions.CSI_DRIVER))
def test_driver_may_write_secrets_only_when_a_secret_is_mirrored(case: str) -> None:
    install = install_of(case, versions.CSI_DRIVER)
    assert install is not None
    mirrored = bool(secret_objects(settings(case).secrets))
    grants = _grants_on_secrets(install.render())
    assert bool(grants) == mirrored, f"{case}: mirrored={mirrored}, roles writing Secrets {grants}"


@pytest.mark.parametrize("case", cases_with(versions.AZURE_PROVIDER))
def test_azure_provider_chart_renders_no_second_driver(case: str) -> None:
    install = install_of(case, versions.AZURE_PROVIDER)
    assert install is not None
    rendered = install.render()
    assert not rendered.kinds("CSIDriver") and not rendered.kinds("CustomResourceDefinition")
    daemonsets = [d["metadata"]["name"] for d in rendered.kinds("DaemonSet")]
    assert daemonsets == [f"{install.release}-csi-secrets-store-provider-azure"], daemonsets


@pytest.mark.parametrize(
    ("chart", "target"),
    [(versions.CSI_DRIVER, DRIVER), (versions.AZURE_PROVIDER, AZURE_PROVIDER_HELM)],
    ids=["driver", "azure-provider"],
)
def test_metrics_services_select_the_pods_the_charts_render(
    chart: versions.Chart, target: ScrapeTarget
) -> None:
    """csi.metrics serviceMonitor: the headless Services select the chart's pods by label and
    scrape the port those pods serve metrics on."""
    install = install_of("azure-serviceMonitor", chart)
    assert install is not None
    daemonsets = install.render().kinds("DaemonSet")
    assert len(daemonsets) == 1
    pod = daemonsets[0]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert target.selector.items() <= labels.items(), f"{target.name}: pods carry {labels}"
    ports = {p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
    assert target.port in ports, f"{target.name}: pods serve ports {sorted(ports)}"


def test_workload_identity_token_audience_reaches_the_csi_driver_object() -> None:
    install = install_of("azure-workload", versions.CSI_DRIVER)
    assert install is not None
    csidriver = install.render().kinds("CSIDriver")
    assert len(csidriver) == 1
    assert {"audience": "api://AzureADTokenExchange"} in csidriver[0]["spec"]["tokenRequests"]


def _server_parts(rendered: charts.Rendered) -> list[str]:
    """Whatever of a Vault server the chart rendered."""
    parts = [f"StatefulSet {s['metadata']['name']}" for s in rendered.kinds("StatefulSet")]
    parts += [
        f"ServiceAccount {a['metadata']['name']}"
        for a in rendered.kinds("ServiceAccount")
        if a["metadata"]["name"] != "vault-csi-provider"
    ]
    parts += [
        f"ClusterRoleBinding {b['metadata']['name']}"
        for b in rendered.kinds("ClusterRoleBinding")
        if b["roleRef"]["name"] == AUTH_DELEGATOR
    ]
    return parts


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env") or []}


def _mounts(container: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in container.get("volumeMounts") or []}


def _check_csi_trusts_the_ca(provider: dict[str, Any]) -> None:
    """The CA reaches the provider (SecretProviderClass vaultCACertPath) and its agent."""
    volumes = {v["name"]: v for v in provider["spec"]["template"]["spec"]["volumes"]}
    assert volumes["vault-ca"]["configMap"]["name"] == "vault-ca"
    containers = {c["name"]: c for c in _containers(provider)}
    for container in containers.values():
        assert _mounts(container)["vault-ca"] == VAULT_CA_FILE.rsplit("/", 1)[0]
    assert f"-ca-cert={VAULT_CA_FILE}" in containers["vault-agent"]["args"]


def _check_dev(rendered: charts.Rendered) -> None:
    server = rendered.named("StatefulSet", "vault")
    assert server is not None, "no dev server"
    container = _containers(server)[0]
    env = _env(container)
    # The chart's literal is only a marker; the token comes from the Secret, via the flag.
    assert env["VAULT_DEV_ROOT_TOKEN_ID"]["value"] == DEV_TOKEN_MARKER
    assert env["VAULT_DEV_ROOT_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "vault-dev-root-token",
        "key": "token",
    }
    assert 'vault server -dev -dev-root-token-id="${VAULT_DEV_ROOT_TOKEN}"' in "".join(
        container["args"]
    )


def _check_ha(rendered: charts.Rendered, replicas: int) -> None:
    server = rendered.named("StatefulSet", "vault")
    assert server is not None and server["spec"]["replicas"] == replicas
    pod = server["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    spread = pod["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone"]
    # The chart's own rule: one Vault pod per node.
    anti = pod["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    container = _containers(server)[0]
    assert _env(container)["VAULT_ADDR"]["value"] == "https://127.0.0.1:8200"
    assert "VAULT_DEV_ROOT_TOKEN_ID" not in _env(container)
    assert _mounts(container)["vault-tls"] == "/vault/tls"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["vault-tls"]["secret"]["secretName"] == "vault-server-tls"
    account = rendered.named("ServiceAccount", "vault")
    assert account is not None
    assert account["metadata"]["annotations"]["azure.workload.identity/client-id"]
    config = rendered.named("ConfigMap", "vault-config")
    assert config is not None
    hcl = config["data"]["extraconfig-from-values.hcl"]
    assert 'storage "raft"' in hcl and 'seal "azurekeyvault"' in hcl
    assert 'tls_cert_file = "/vault/tls/tls.crt"' in hcl and "tls_disable" not in hcl
    assert hcl.count("retry_join") == replicas
    assert rendered.named("Service", "vault-active") is not None


@pytest.mark.parametrize("case", cases_with(versions.VAULT))
def test_vault_chart_renders_what_the_mode_needs(case: str) -> None:
    install = install_of(case, versions.VAULT)
    vault = settings(case).vault
    assert install is not None and vault is not None
    rendered = install.render()
    provider = rendered.named("DaemonSet", "vault-csi-provider")
    assert provider is not None, f"{case}: no vault-csi-provider DaemonSet"
    assert not rendered.kinds("MutatingWebhookConfiguration"), "the injector is not used"
    if vault.mode == "dev":
        _check_dev(rendered)
    elif vault.mode == "ha":
        _check_ha(rendered, vault.replicas)
        _check_csi_trusts_the_ca(provider)
    else:
        assert _server_parts(rendered) == []
        config = rendered.named("ConfigMap", "vault-csi-provider-agent-config")
        assert config is not None and f'"address" = "{vault.address}"' in str(config["data"])
        if vault.ca_cert_file:
            _check_csi_trusts_the_ca(provider)


@pytest.mark.parametrize("case", cases_with(versions.VAULT))
def test_vault_has_no_load_balancer(case: str) -> None:
    install = install_of(case, versions.VAULT)
    assert install is not None
    services = [o for o in install.render().kinds("Service")]
    assert [
        s["metadata"]["name"] for s in services if s["spec"].get("type") == "LoadBalancer"
    ] == []


def _secret_strings(value: Any, inside: bool = False) -> set[str]:
    """Every string of 8+ characters held inside a secret in `value`."""
    if is_secret(value):
        return _secret_strings(value["value"], True)
    if isinstance(value, dict):
        return {s for v in value.values() for s in _secret_strings(v, inside)}
    if isinstance(value, list):
        return {s for v in value for s in _secret_strings(v, inside)}
    return {value} if inside and isinstance(value, str) and len(value) >= 8 else set()


@pytest.mark.parametrize("case", VAULT_CASES)
def test_no_secret_the_program_holds_is_in_a_rendered_object(case: str) -> None:
    """The dev root token, the TLS key, a configured token: in Secrets (and the encrypted
    state) only, never in what the charts render (StatefulSets, ConfigMaps, ...)."""
    secrets = set()
    for resource in run(case).resources:
        if resource.type == RELEASE:
            continue  # the values are checked as rendered, below
        secrets |= _secret_strings(resource.inputs)
    assert secrets or case.startswith("vault-external"), f"{case}: no secret values found"
    if case == "vault-scopes-synced" or settings(case).vault.mode == "dev":
        assert "generated-store-root-token" in secrets
    for install in installs(case):
        text = json.dumps(install.render().objects)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{case}: {install.resource} renders secret values"


def _leaves(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) of each value the program sets; lists and empty maps are leaves."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, values


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "1"
    if isinstance(value, list):
        return [_changed(v) for v in value] if value else [{"changed": "1"}]
    if isinstance(value, dict):
        return {k: _changed(v) for k, v in value.items()} if value else {"changed": "1"}
    raise AssertionError(f"unexpected value {value!r}")


def _with(values: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(values))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def test_no_value_the_program_sets_is_ignored_by_the_chart() -> None:
    """Each (chart, key path) the program sets anywhere is changed once, in the first case
    that sets it; the rendered objects must differ."""
    probes: dict[tuple[str, tuple[str, ...]], tuple[Install, Any]] = {}
    for case in CASES:
        for install in installs(case):
            for path, value in _leaves(install.values):
                probes.setdefault((install.chart.name, path), (install, value))
    assert len(probes) >= 10, f"only {len(probes)} values probed"

    def ignored(item: tuple[tuple[str, tuple[str, ...]], tuple[Install, Any]]) -> str | None:
        (chart, path), (install, value) = item
        changed = install.render(_with(install.values, path, _changed(value)))
        if changed.objects == install.render().objects:
            return f"{chart}: values.{'.'.join(path)} (first set in {install.case})"
        return None

    with ThreadPoolExecutor() as pool:
        found = [p for p in pool.map(ignored, sorted(probes.items())) if p]
    assert not found, "changing these values changes nothing the chart renders:\n" + "\n".join(
        found
    )
