"""Aidbox ready for production (issue 9), under mocks, for both stores and the in-cluster
database: shared signing keys from the store, no credential in any manifest, recommended
settings, the public endpoint, availability objects and the order of the first rollout."""

from __future__ import annotations

import json
from pathlib import Path

import cases
import pytest
from harness import (
    AZURE_DEV,
    AZURE_PUBLIC,
    AZURE_SIZED,
    PEM_PRIVATE_HEAD,
    PUBLIC,
    ROOT,
    VAULT_PUBLIC,
    VAULT_TUNED,
    VAULT_TUNED_SECRETS,
    StackRun,
    depends_on,
    is_secret,
    plain_strings,
    run_stack,
    stack_config,
    unwrap,
)

from components import key_bundle
from components.aidbox.render import RECOMMENDED_ENV
from components.aidbox.start import KEY_ENV
from components.settings.managed import (
    AUTH_KEYS,
    DB_APP_PASSWORD,
    DB_PASSWORD,
    MANAGED_KUBERNETES_SECRET,
)

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
KV_SECRET = "azure-native:keyvault:Secret"
KV2 = "vault:kv/secretV2:SecretV2"
# What the mocks generate (tests/harness.py): the private key, the HS256 secret, the password.
GENERATED = (PEM_PRIVATE_HEAD, "generated-generated-auth-secret", "generated-generated-db-password")
# Three replicas, in the default namespace, no host, the in-cluster database (shared runs).
STORES = {"azure": (AZURE_SIZED, ()), "vault": (VAULT_TUNED, VAULT_TUNED_SECRETS)}
# A host with a TLS Secret.
PUBLIC_STORES = {"azure": AZURE_PUBLIC, "vault": VAULT_PUBLIC}


@pytest.fixture(scope="module", params=list(STORES))
def run(request: pytest.FixtureRequest) -> StackRun:
    config, secret_keys = STORES[request.param]
    assert config["aidbox"]["replicas"] == 3
    return run_stack(config, secret_keys=secret_keys)


def container(run: StackRun) -> dict:
    pod = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    return pod["containers"][0]


def env(run: StackRun) -> dict[str, dict]:
    return {e["name"]: e for e in container(run)["env"]}


def store_values(run: StackRun) -> dict[str, str]:
    """What the store is seeded with: secret name -> value."""
    if run.of_type(KV2):  # one entry per secret, its value under `value`
        return {
            r.props["name"].rsplit("/", 1)[1]: json.loads(r.props["dataJson"])["value"]
            for r in run.of_type(KV2)
        }
    return {r.props["secretName"]: r.props["properties"]["value"] for r in run.of_type(KV_SECRET)}


def test_every_replica_reads_the_same_keys_from_the_store(run: StackRun) -> None:
    # One pod template for all replicas: each splits the keys from one mounted bundle.
    script = container(run)["command"][2]
    mount = next(m for m in container(run)["volumeMounts"] if m["name"] == "secrets-store")
    assert f"_keys {mount['mountPath']}/{AUTH_KEYS}\n" in script
    for variable in KEY_ENV:
        assert f"export {variable}=" in script and variable not in env(run)
    # Mirrored into no Kubernetes Secret (tests/test_stack_env_from_files.py).
    assert "secretObjects" not in run.spc().props["spec"]
    # The store holds the key pair the TLS provider generated, once, with the HS256 secret.
    key = run.one("tls:index/privateKey:PrivateKey")
    assert (key.props["algorithm"], key.props["rsaBits"]) == ("RSA", 2048)
    values = store_values(run)
    bundle = key_bundle.parse(values[AUTH_KEYS])
    assert bundle.private_key.startswith(PEM_PRIVATE_HEAD)
    assert bundle.public_key.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert bundle.secret == "generated-generated-auth-secret"
    assert values[DB_PASSWORD] == "generated-generated-db-password"


def test_the_pem_reaches_the_store_with_its_line_breaks(run: StackRun) -> None:
    value = store_values(run)[AUTH_KEYS]
    assert value.count("\n") >= 8 and value.endswith(f"{key_bundle.SECRET_END}\n")


def test_keys_and_passwords_are_secret_in_the_store(run: StackRun) -> None:
    for resource in run.of_type(KV_SECRET):
        assert is_secret(resource.inputs["properties"]) or is_secret(
            resource.inputs["properties"]["value"]
        )
        assert resource.opts is not None and resource.opts.ignore_changes == ["properties"]
    for resource in run.of_type(KV2):
        assert is_secret(resource.inputs["dataJson"])


def test_no_key_secret_or_password_in_any_manifest_or_output(run: StackRun) -> None:
    for resource in run.resources:
        leaked = [s for s in plain_strings(resource.inputs) for g in GENERATED if g in s]
        assert not leaked, f"{resource.type} {resource.name} holds {leaked} in plain text"
        if resource.type.startswith("kubernetes:"):
            # Not even as a Pulumi secret: the values never enter a Kubernetes object.
            text = json.dumps(unwrap(resource.inputs), default=str)
            assert not [g for g in GENERATED if g in text], f"{resource.name} holds a value"
    outputs = json.dumps({k: unwrap(v.value) for k, v in run.outputs.items()}, default=str)
    assert not [g for g in GENERATED if g in outputs]
    names = {r.props["metadata"]["name"] for r in run.of_type("kubernetes:core/v1:Secret")}
    assert MANAGED_KUBERNETES_SECRET not in names  # nobody creates it any more


def test_recommended_settings_are_set_and_dev_mode_is_off(run: StackRun) -> None:
    by_name = env(run)
    for name, value in RECOMMENDED_ENV.items():
        assert by_name[name] == {"name": name, "value": value}
    assert by_name["BOX_BOOTSTRAP_FHIR_PACKAGES"]["value"] == "hl7.fhir.r4.core#4.0.1"
    assert by_name["BOX_SECURITY_DEV_MODE"]["value"] == "false"


def test_first_rollout_waits_for_store_database_and_class(run: StackRun) -> None:
    deployment = run.k8s("apps/v1:Deployment", "aidbox")
    wanted = {"spc", "postgres-statefulset", "aidbox-service-account", "aidbox-config"}
    if run.of_type(KV2):
        wanted |= {"store-role", f"store-kv-{AUTH_KEYS}", "store-chart"}  # configured
    else:
        wanted |= {"store-kv-kubelet", f"store-kv-{AUTH_KEYS}", f"store-kv-{DB_APP_PASSWORD}"}
    assert wanted <= depends_on(deployment)
    statefulset = run.k8s("apps/v1:StatefulSet", "aidbox-db")
    # The database's own class and account.
    assert {"spc-database", "database-service-account"} <= depends_on(statefulset)
    # The database does not wait for Aidbox, nor for anything but its class and account.
    assert "aidbox-deployment" not in depends_on(statefulset)


def test_workload_identity_rollout_waits_for_the_federated_credential() -> None:
    run = run_stack({**AZURE_DEV, "azure": {"identity": "workload"}})
    assert {"store-federation", f"store-kv-workload-{AUTH_KEYS}"} <= depends_on(
        run.k8s("apps/v1:Deployment", "aidbox")
    )


def test_the_in_cluster_database_reads_its_password_from_the_store(run: StackRun) -> None:
    pod = run.k8s("apps/v1:StatefulSet", "aidbox-db").props["spec"]["template"]["spec"]
    db_env = {e["name"]: e for e in pod["containers"][0]["env"]}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "secrets-store")
    assert db_env["POSTGRES_PASSWORD_FILE"]["value"] == f"{mount['mountPath']}/{DB_PASSWORD}"
    # Its own account (the store lets it read the database's passwords only).
    assert pod["serviceAccountName"] == "aidbox-db"
    aidbox_env = env(run)
    assert aidbox_env["BOX_DB_HOST"]["value"] == "aidbox-db.default.svc.cluster.local"
    assert "AIDBOX_DB_PARAM_SSLMODE" not in aidbox_env  # pod network only


def test_availability_spread_budget_and_probes(run: StackRun) -> None:
    deployment = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]
    assert deployment["replicas"] == 3
    spread = deployment["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == deployment["selector"]["matchLabels"]
    pdb = run.k8s("policy/v1:PodDisruptionBudget", "aidbox").props["spec"]
    assert pdb == {"maxUnavailable": 1, "selector": deployment["selector"]}
    startup = container(run)["startupProbe"]
    # Longer than the chart's 20s + 10 x 5s: a first start loads the FHIR core package.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
    assert not run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert not run.of_type("kubernetes:networking.k8s.io/v1:Ingress")


def test_jvm_heap_and_probe_timeouts_come_from_settings(run: StackRun) -> None:
    """JAVA_OPTS sizes the heap from the memory limit (the JVM takes a quarter by default);
    every probe waits 5 s, as Aidbox's HA guide has it (Kubernetes' default is 1 s)."""
    assert env(run)["JAVA_OPTS"] == {"name": "JAVA_OPTS", "value": "-XX:MaxRAMPercentage=75"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container(run)[probe]["timeoutSeconds"] == 5
    tuned = {"heapPercentage": 60, "javaOpts": "-Dhttps.proxyHost=proxy"}
    tuned_run = run_stack({**AZURE_DEV, "aidbox": {**tuned, "probes": {"timeoutSeconds": 8}}})
    tuned_container = container(tuned_run)
    java = next(e for e in tuned_container["env"] if e["name"] == "JAVA_OPTS")
    assert java["value"] == "-XX:MaxRAMPercentage=60 -Dhttps.proxyHost=proxy"
    assert tuned_container["livenessProbe"]["timeoutSeconds"] == 8


def test_metrics_port_is_scraped_like_the_drivers(run: StackRun) -> None:
    annotations = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8765"
    assert {"name": "metrics", "containerPort": 8765} in container(run)["ports"]


def test_service_monitor_for_aidbox() -> None:
    run = run_stack({**AZURE_DEV, "csi": {"metrics": "serviceMonitor"}})
    monitor = run.named("aidbox-metrics-monitor").props
    assert monitor["metadata"]["namespace"] == "default"
    assert [e["path"] for e in monitor["spec"]["endpoints"]] == [
        "/metrics",
        "/metrics/minutes",
        "/metrics/hours",
    ]
    service = run.named("aidbox-metrics").props["spec"]
    assert service["selector"] == {"app.kubernetes.io/name": "aidbox"}
    assert service["ports"][0]["port"] == 8765
    annotations = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert "prometheus.io/scrape" not in annotations


@pytest.fixture(scope="module")
def autoscaled() -> StackRun:
    return run_stack(AZURE_PUBLIC)


def test_autoscaler_owns_the_replica_count(autoscaled: StackRun) -> None:
    run = autoscaled
    deployment = run.k8s("apps/v1:Deployment", "aidbox")
    assert "replicas" not in deployment.props["spec"]
    hpa = run.k8s("autoscaling/v2:HorizontalPodAutoscaler", "aidbox").props["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "aidbox",
    }
    autoscaling = PUBLIC["autoscaling"]
    assert (
        (hpa["minReplicas"], hpa["maxReplicas"])
        == (2, 5)
        == (
            autoscaling["minReplicas"],
            autoscaling["maxReplicas"],
        )
    )
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert autoscaling["targetCPUUtilization"] == 60
    assert run.k8s("policy/v1:PodDisruptionBudget", "aidbox").props["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("store", list(PUBLIC_STORES))
def test_host_gives_an_ingress_and_the_public_base_url(store: str) -> None:
    run = run_stack(PUBLIC_STORES[store])
    assert env(run)["BOX_WEB_BASE_URL"]["value"] == "https://fhir.example.org"
    assert run.output("aidboxUrl") == "https://fhir.example.org"
    ingress = run.k8s("networking.k8s.io/v1:Ingress", "aidbox").props
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    assert spec["tls"] == [{"hosts": ["fhir.example.org"], "secretName": "fhir-tls"}]
    assert PUBLIC["tls"] == {"secretName": "fhir-tls"}
    rule = spec["rules"][0]
    assert rule["host"] == "fhir.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = run.k8s("core/v1:Service", "aidbox").props["spec"]
    assert backend == {"name": "aidbox", "port": {"number": service["ports"][0]["port"]}}
    assert "kubernetes.azure.com/tls-cert-keyvault-uri" not in ingress["metadata"]["annotations"]
    cluster = run.one("azure-native:containerservice:ManagedCluster").props
    assert cluster["ingressProfile"] == {"webAppRouting": {"enabled": True}}


def test_key_vault_certificate_is_read_by_the_routing_add_on() -> None:
    case = "azure-aksAddon-keyvault-certificate"
    uri = "https://kv-a.vault.azure.net/certificates/fhir"
    assert cases.CASES[case].config["aidbox-secrets:aidbox"]["tls"]["keyVaultCertificateUri"] == uri
    run = cases.run(case)
    ingress = run.k8s("networking.k8s.io/v1:Ingress", "aidbox").props
    assert ingress["metadata"]["annotations"]["kubernetes.azure.com/tls-cert-keyvault-uri"] == uri
    # The add-on writes the certificate into keyvault-<Ingress name>.
    assert ingress["spec"]["tls"][0]["secretName"] == "keyvault-aidbox"


def test_without_a_host_aidbox_stays_in_the_cluster(run: StackRun) -> None:
    assert env(run)["BOX_WEB_BASE_URL"]["value"] == "http://aidbox.default.svc.cluster.local:8080"
    assert "ingressProfile" not in run.one("azure-native:containerservice:ManagedCluster").props


def test_env_map_reaches_the_container_and_overrides_a_recommendation(
    autoscaled: StackRun,
) -> None:
    by_name = env(autoscaled)
    assert by_name["BOX_FHIR_TERMINOLOGY_ENGINE"]["value"] == "local"
    assert by_name["BOX_X"]["value"] == "3"


def test_production_stack_runs_a_fixed_lts_release_with_dev_mode_off() -> None:
    config = stack_config(Path(ROOT) / "Pulumi.prod.yaml")
    config["aidbox-secrets:aidboxLicense"] = "test-license"
    run = run_stack(config, secret_keys=["aidbox-secrets:aidboxLicense"], stack="prod")
    by_name = env(run)
    assert by_name["BOX_SECURITY_DEV_MODE"]["value"] == "false"
    for name, value in RECOMMENDED_ENV.items():
        assert by_name[name]["value"] == value
    assert container(run)["image"] == "healthsamurai/aidboxone:2605.0"
    # The init Bundle creates Client/basic once, without HTTP Basic on production.
    bundle = json.loads(
        run.k8s("core/v1:ConfigMap", "aidbox-config").props["data"]["init-bundle.json"]
    )
    (entry,) = bundle["entry"]
    assert entry["request"] == {"method": "POST", "url": "Client", "ifNoneExist": "_id=basic"}
    assert entry["resource"]["grant_types"] == ["client_credentials"]
    assert "_keys /run/azure-secrets/aidbox-auth-keys" in container(run)["command"][2]


def test_a_monthly_tag_is_allowed_on_dev_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    run = run_stack({**AZURE_DEV, "aidbox": {"image": "healthsamurai/aidboxone:2605"}})
    assert container(run)["image"] == "healthsamurai/aidboxone:2605"
    assert "aidbox.image = healthsamurai/aidboxone:2605 is a monthly tag" in caplog.text
    caplog.clear()
    run_stack({**AZURE_DEV, "aidbox": {"image": "healthsamurai/aidboxone:2605.0"}})
    assert "monthly tag" not in caplog.text
    # The default is the release's moving tag (no build of it is named upstream): it warns too.
    run_stack({**AZURE_DEV, "aidbox": {"replicas": 1}})  # not a shared run: it logs again
    assert "aidbox.image = healthsamurai/aidboxone:2605 is a monthly tag" in caplog.text


def test_moved_resources_keep_their_state_through_aliases(run: StackRun) -> None:
    password = run.named("generated-db-password").opts
    account = run.named("aidbox-service-account").opts
    assert password is not None and account is not None
    # The database password keeps its generated value; the ServiceAccount is not re-created.
    (alias,) = password.aliases  # type: ignore[misc]
    assert alias.name == "postgres-password"
    stack = "urn:pulumi:dev::aidbox-secrets::"
    assert alias.parent == f"{stack}aidbox-secrets:aidbox:Postgres::postgres"
    (alias,) = account.aliases  # type: ignore[misc]
    assert alias.parent == f"{stack}aidbox-secrets:aidbox:Aidbox::aidbox"
    assert alias.name is ...  # same logical name
