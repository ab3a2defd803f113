"""`aidbox` and `aidboxLicense`: the Aidbox Deployment and the env it reads from the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .aidbox_env import DEFAULT_HEAP_PERCENTAGE, parse_env, parse_java_opts
from .reader import Section, Sensitive, fail
from .secrets import SecretSpec
from .values import image, k8s_object_name, quantity, quantity_value

# Aidbox settings read from env at start-up that may come from the store: its start script
# exports them from the mounted files (components/aidbox/start.py).
STORE_ENV = ("BOX_LICENSE", "BOX_ADMIN_PASSWORD", "BOX_ROOT_CLIENT_SECRET")
# The 2605 release: the tag Health Samurai's own chart runs Aidbox with
# (HealthSamurai/helm-charts payerbox/values.yaml, `image.tag: "2605"`). BOX_VAULT_CONFIG
# needs 2602 or later (HealthSamurai/documentation docs/configuration/secret-files.md), so no
# LTS line yet (docs/overview/versioning.md lists 2512 and 2507) can run this program. The YYMM
# tag moves with the release's bugfix builds (versioning.md): dev warns, production refuses it
# and pins one build (YYMM.N) or a digest, as Pulumi.prod.yaml does.
DEFAULT_AIDBOX_IMAGE = "healthsamurai/aidboxone:2605"
# A tag that names one build (YYMM.N); the bare YYMM tag moves with every minor release.
FIXED_TAG = re.compile(r"^\d{4}\.\d+$")
MONTHLY_TAG = re.compile(r"^\d{4}$")
DNS_NAME_RULE = (
    "a DNS name such as fhir.example.org: lower-case labels of a-z, 0-9 and '-' (1-63 "
    "characters, alphanumeric at both ends), at least two labels, 253 characters at most, "
    "no scheme, port or path"
)
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
KEY_VAULT_CERTIFICATE_URI = re.compile(
    r"^https://[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]\.vault\.azure\.net/certificates/"
    r"[a-zA-Z0-9-]{1,127}(/[0-9a-f]{32})?$"
)


def is_dns_name(text: str) -> bool:
    labels = text.split(".")
    return len(text) <= 253 and len(labels) >= 2 and all(_DNS_LABEL.match(x) for x in labels)


def image_tag(reference: str) -> str | None:
    """The tag of an image reference, None when it is pinned by digest."""
    if "@" in reference:
        return None
    return reference.rpartition(":")[2]


@dataclass(frozen=True)
class Tls:
    """Where the Ingress's certificate comes from: exactly one of the two."""

    key_vault_certificate_uri: str | None = None  # read by the application routing add-on
    secret_name: str | None = None  # a kubernetes.io/tls Secret someone else keeps current


@dataclass(frozen=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    target_cpu_utilization: int = 70


@dataclass(frozen=True)
class AidboxSettings:
    image: str = DEFAULT_AIDBOX_IMAGE
    replicas: int = 1
    service_account: str = "aidbox"
    license: Sensitive | None = None
    legacy_secret_file_env: bool = False
    # env var -> name of a configured secret, exported from its mounted file at start
    env_from_store: tuple[tuple[str, str], ...] = ()
    cpu_request: str = "500m"
    memory_request: str = "2Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"
    host: str | None = None  # the public DNS name; None: ClusterIP only (port-forward)
    # aidbox.internal.baseUrl: the address users reach an Aidbox this program does not publish
    # (an internal load balancer or ingress run by someone else); not with `host`.
    internal_base_url: str | None = None
    tls: Tls | None = None
    autoscaling: Autoscaling | None = None
    dev_mode: bool = False
    env: tuple[tuple[str, str], ...] = ()  # aidbox.env: plain settings, sorted
    heap_percentage: int = DEFAULT_HEAP_PERCENTAGE  # of memory_limit: -XX:MaxRAMPercentage
    extra_java_opts: str | None = None  # aidbox.javaOpts, appended to JAVA_OPTS
    # Aidbox's HA guide (docs/deployment-and-maintenance/deploy-aidbox/run-aidbox-in-kubernetes/
    # highly-available-aidbox.md) gives every probe 5 s; Kubernetes' default is 1 s.
    probe_timeout_seconds: int = 5

    @property
    def java_opts(self) -> str:
        heap = f"-XX:MaxRAMPercentage={self.heap_percentage}"
        return f"{heap} {self.extra_java_opts}" if self.extra_java_opts else heap

    @property
    def has_license(self) -> bool:
        return self.license is not None or "BOX_LICENSE" in dict(self.env_from_store)

    @property
    def min_replicas(self) -> int:
        """The fewest pods that run: the autoscaler's floor, else the fixed count."""
        return self.autoscaling.min_replicas if self.autoscaling else self.replicas

    @property
    def base_url(self) -> str | None:
        """BOX_WEB_BASE_URL: what tokens, links and the UI name. None: the in-cluster URL."""
        return f"https://{self.host}" if self.host else self.internal_base_url


def parse_aidbox(top: Section, license: Sensitive | None) -> AidboxSettings:
    s = top.section("aidbox")
    s.reject_unknown(
        (
            "image",
            "replicas",
            "serviceAccount",
            "legacySecretFileEnv",
            "envFromStore",
            "cpuRequest",
            "memoryRequest",
            "cpuLimit",
            "memoryLimit",
            "host",
            "tls",
            "autoscaling",
            "devMode",
            "env",
            "heapPercentage",
            "javaOpts",
            "probes",
            "internal",
        )
    )
    d = AidboxSettings
    service_account = k8s_object_name(s, "serviceAccount", d.service_account)
    if service_account == "default":
        s.fail(
            "serviceAccount",
            service_account,
            "a ServiceAccount of Aidbox's own (the program creates it; 'default' is the "
            "namespace's own account)",
        )
    host, tls = _endpoint(s)
    heap, java_opts = parse_java_opts(s)
    probes = s.section("probes")
    probes.reject_unknown(("timeoutSeconds",))
    settings = AidboxSettings(
        image=image(s, "image", d.image),
        replicas=s.integer("replicas", d.replicas, minimum=1, maximum=20),
        service_account=service_account,
        license=license,
        legacy_secret_file_env=s.boolean("legacySecretFileEnv", d.legacy_secret_file_env),
        env_from_store=tuple(
            (env, s.section("envFromStore").required_string(env, "a secret name"))
            for env in s.section("envFromStore").data
        ),
        cpu_request=quantity(s, "cpuRequest", d.cpu_request, kind="cpu"),
        memory_request=quantity(s, "memoryRequest", d.memory_request, kind="bytes"),
        cpu_limit=quantity(s, "cpuLimit", d.cpu_limit, kind="cpu"),
        memory_limit=quantity(s, "memoryLimit", d.memory_limit, kind="bytes"),
        host=host,
        internal_base_url=_internal_url(s, host),
        tls=tls,
        autoscaling=_autoscaling(s),
        dev_mode=s.boolean("devMode", d.dev_mode),
        env=parse_env(s),
        heap_percentage=heap,
        extra_java_opts=java_opts,
        probe_timeout_seconds=probes.integer(
            "timeoutSeconds", d.probe_timeout_seconds, minimum=1, maximum=60
        ),
    )
    pairs = (
        ("cpuRequest", settings.cpu_request, "cpuLimit", settings.cpu_limit),
        ("memoryRequest", settings.memory_request, "memoryLimit", settings.memory_limit),
    )
    for request_key, request, limit_key, limit in pairs:
        if quantity_value(request) > quantity_value(limit):  # type: ignore[operator]
            s.fail(
                request_key,
                request,
                f"at most {s.key(limit_key)} ({limit!r}): Kubernetes refuses a request above "
                "its limit",
            )
    return settings


def _endpoint(s: Section) -> tuple[str | None, Tls | None]:
    host = s.string("host")
    t = s.section("tls")
    t.reject_unknown(("keyVaultCertificateUri", "secretName"))
    if host is not None and not is_dns_name(host):
        s.fail("host", host, DNS_NAME_RULE)
    if host is None:
        if t.data:
            fail(t.path, "(set)", "a certificate needs aidbox.host (the name it is for)")
        return None, None
    uri = t.string("keyVaultCertificateUri")
    secret_name = k8s_object_name(t, "secretName", None) if t.has("secretName") else None
    if uri is not None and not KEY_VAULT_CERTIFICATE_URI.match(uri):
        t.fail(
            "keyVaultCertificateUri",
            uri,
            "a Key Vault certificate URI, https://<vault>.vault.azure.net/certificates/<name> "
            "(leave out the version so renewals are picked up)",
        )
    if (uri is None) == (secret_name is None):
        fail(
            t.path,
            "(both)" if uri else None,
            "exactly one of aidbox.tls.keyVaultCertificateUri (a certificate in Azure Key "
            "Vault, read by the application routing add-on) or aidbox.tls.secretName (a "
            "kubernetes.io/tls Secret in the namespace, e.g. kept by cert-manager)",
        )
    return host, Tls(key_vault_certificate_uri=uri, secret_name=secret_name)


def _internal_url(s: Section, host: str | None) -> str | None:
    i = s.section("internal")
    i.reject_unknown(("baseUrl",))
    url = i.string("baseUrl")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        i.fail("baseUrl", url, "a URL such as https://aidbox.hospital.example (no query)")
    if parts.username or parts.password:
        i.fail("baseUrl", "(hidden)", "a URL without credentials")
    if host is not None:
        i.fail("baseUrl", url, "not with aidbox.host (which makes it https://<host>)")
    return url.rstrip("/")


# Names that resolve only inside the cluster (or the pod): users never reach Aidbox there.
CLUSTER_LOCAL = re.compile(r"(?:^localhost$|\.svc$|\.svc\.cluster\.local$|\.cluster\.local$)")


def public_url_problem(url: str) -> str | None:
    """Why `url` is not an address users reach on production, or None."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "https on production (tokens and links carry it)"
    host = (parts.hostname or "").lower()
    if CLUSTER_LOCAL.search(host) or not is_dns_name(host):
        return (
            "the DNS name users reach Aidbox at, not an in-cluster name (.svc, "
            ".cluster.local, localhost) nor an address"
        )
    return None


def check_reachable(aidbox: AidboxSettings) -> list[tuple[str, object, str]]:
    """Production: the address users reach is stated, https and outside the cluster."""
    if aidbox.host is None and aidbox.internal_base_url is None:
        return [
            (
                "aidbox.host",
                None,
                "required on production: the public DNS name users reach Aidbox at "
                "(BOX_WEB_BASE_URL goes into tokens and links), or aidbox.internal.baseUrl "
                "for an Aidbox published inside your network by other means",
            )
        ]
    if aidbox.internal_base_url is not None:
        problem = public_url_problem(aidbox.internal_base_url)
        if problem:
            return [("aidbox.internal.baseUrl", aidbox.internal_base_url, problem)]
    return []


def _autoscaling(s: Section) -> Autoscaling | None:
    a = s.section("autoscaling")
    if not a.data:
        return None
    a.reject_unknown(("minReplicas", "maxReplicas", "targetCPUUtilization"))
    for key in ("minReplicas", "maxReplicas"):
        if not a.has(key):
            a.fail(key, None, "required when aidbox.autoscaling is set")
    low = a.integer("minReplicas", 1, minimum=1, maximum=20)
    high = a.integer("maxReplicas", 1, minimum=1, maximum=50)
    if low > high:
        a.fail("minReplicas", low, f"at most aidbox.autoscaling.maxReplicas ({high})")
    if s.has("replicas"):
        s.fail(
            "replicas",
            s.data["replicas"],
            "leave it out with aidbox.autoscaling: the autoscaler owns the replica count",
        )
    target = a.integer("targetCPUUtilization", 70, minimum=10, maximum=100)
    return Autoscaling(low, high, target)


def check_env_from_store(aidbox: AidboxSettings, secrets: tuple[SecretSpec, ...]) -> None:
    configured = {spec.name for spec in secrets if not spec.managed}
    for env, name in aidbox.env_from_store:
        key = f"aidbox.envFromStore.{env}"
        if env not in STORE_ENV:
            fail(f"aidbox.envFromStore.{env}", name, f"env var must be one of {list(STORE_ENV)}")
        if name not in configured:
            fail(
                key,
                name,
                f"a secret configured in `secrets` (one of {sorted(configured)}): Aidbox reads "
                "it from the store's mounted file at start",
            )
        if env == "BOX_LICENSE" and aidbox.license is not None:
            fail(key, name, "aidboxLicense is set too: keep the license in one place")


def check_tls_source(aidbox: AidboxSettings, install: str) -> None:
    """The add-on reads a Key Vault certificate through AKS's Key Vault CSI add-on
    (`az aks approuting update --enable-kv`), which must not run beside the Helm driver."""
    if aidbox.tls and aidbox.tls.key_vault_certificate_uri and install != "aksAddon":
        fail(
            "aidbox.tls.keyVaultCertificateUri",
            aidbox.tls.key_vault_certificate_uri,
            "needs csi.install aksAddon (the routing add-on reads Key Vault through AKS's "
            "Key Vault CSI add-on, which must not run beside the Helm-installed driver); with "
            "csi.install helm use aidbox.tls.secretName",
        )
