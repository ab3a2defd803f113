"""Pinned charts and images, in one place. Bump a version here and check its values keys and the
images its chart pulls (tests compare both with the vendored archive)."""

from __future__ import annotations

from dataclasses import dataclass

CHARTS_DIR = "charts"  # vendored archives, relative to the project root (see charts/lock.yaml)


@dataclass(frozen=True)
class ChartImage:
    """An image a chart pulls: the values key holding its `repository` and `tag`, and the
    reference the chart's defaults name (its registry host, which Docker Hub's may leave out)."""

    values_key: str
    reference: str


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str  # where scripts/update_chart.py fetches new versions from
    # Values key paths this program sets; each must exist in the chart's own values.yaml
    # at this version (the tests check the list against the vendored archive).
    values_keys: tuple[str, ...]
    # The images the program runs from this chart; with a registry of your own (registry.mode)
    # their repository and tag are set to its copies.
    images: tuple[ChartImage, ...] = ()

    @property
    def archive(self) -> str:
        """The vendored archive, relative to the project root, where Pulumi runs."""
        return f"./{CHARTS_DIR}/{self.name}-{self.version}.tgz"


@dataclass(frozen=True)
class Image:
    """An image the program pins itself: the Vault chart's (below) and the snapshot job's.
    components/images.py maps each to where it is pulled from."""

    repository: str
    tag: str

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def values(self) -> dict[str, str]:
        """As the Vault chart's `image` values take it."""
        return {"repository": self.repository, "tag": self.tag}


# The Vault the program deploys: the vendored chart's appVersion, Community Edition, which the
# chart's acceptance tests run (vault-helm .github/workflows/acceptance.yaml: CE only with
# VAULT_N, 2.0.4; 1.21.x only as Enterprise images). Server, CSI agent and snapshot job alike.
VAULT_IMAGE = Image("hashicorp/vault", "2.0.4")
VAULT_CSI_PROVIDER_IMAGE = Image("hashicorp/vault-csi-provider", "1.7.4")
# The end-to-end run's Vault (scripts/e2e/vault/go.mod): the Go module proxy has no Vault 2
# module, so it builds 1.21.0 (docs/testing.md, "Vault versions: deployed and tested").
E2E_VAULT_VERSION = "1.21.0"
# The snapshot job's uploader (workload identity, `az storage blob upload --auth-mode login`).
AZURE_CLI_IMAGE = Image("mcr.microsoft.com/azure-cli", "2.91.0")

CSI_DRIVER = Chart(
    name="secrets-store-csi-driver",
    version="1.6.0",
    repo="https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
    values_keys=(
        "syncSecret.enabled",
        "enableSecretRotation",
        "rotationPollInterval",
        "tokenRequests",
        "linux.crds.enabled",
        "linux.podAnnotations",
        "linux.image.repository",
        "linux.image.tag",
        "linux.crds.image.repository",
        "linux.crds.image.tag",
        "linux.registrarImage.repository",
        "linux.registrarImage.tag",
        "linux.livenessProbeImage.repository",
        "linux.livenessProbeImage.tag",
    ),
    images=(
        ChartImage("linux.image", "registry.k8s.io/csi-secrets-store/driver:v1.6.0"),
        ChartImage("linux.crds.image", "registry.k8s.io/csi-secrets-store/driver-crds:v1.6.0"),
        ChartImage(
            "linux.registrarImage", "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.16.0"
        ),
        ChartImage("linux.livenessProbeImage", "registry.k8s.io/sig-storage/livenessprobe:v2.18.0"),
    ),
)

AZURE_PROVIDER = Chart(
    name="csi-secrets-store-provider-azure",
    version="1.8.2",
    repo="https://azure.github.io/secrets-store-csi-driver-provider-azure/charts",
    values_keys=(
        "secrets-store-csi-driver.install",
        "linux.podAnnotations",
        "linux.image.repository",
        "linux.image.tag",
    ),
    images=(
        ChartImage(
            "linux.image", "mcr.microsoft.com/oss/v2/azure/secrets-store/provider-azure:v1.8.2"
        ),
    ),
)

VAULT = Chart(
    name="vault",
    version="0.34.1",
    repo="https://helm.releases.hashicorp.com",
    values_keys=(
        "global.enabled",
        "global.externalVaultAddr",
        "global.tlsDisable",
        "injector.enabled",
        "server.dev.enabled",
        "server.dev.devRootToken",
        "server.extraSecretEnvironmentVars",
        "server.extraArgs",
        "server.ha.enabled",
        "server.ha.replicas",
        "server.ha.raft.enabled",
        "server.ha.raft.setNodeId",
        "server.ha.raft.config",
        "server.resources",
        "server.extraLabels",
        "server.serviceAccount.annotations",
        "server.volumes",
        "server.volumeMounts",
        "server.extraEnvironmentVars",
        "server.topologySpreadConstraints",
        "csi.enabled",
        "csi.volumes",
        "csi.volumeMounts",
        "csi.agent.extraArgs",
        "csi.daemonSet.securityContext.pod",
        "csi.daemonSet.securityContext.container",
        "server.statefulSet.securityContext.pod",
        "server.statefulSet.securityContext.container",
        "csi.image.repository",
        "csi.image.tag",
        "csi.agent.image.repository",
        "csi.agent.image.tag",
        "server.image.repository",
        "server.image.tag",
        "server.ha.apiAddr",
        "server.ha.clusterAddr",
        "server.annotations",
        "server.includeConfigAnnotation",
    ),
    # Set in the values whatever the registry (helm_values.py), not left to the chart's
    # defaults: a chart bump must not move them.
    images=(
        ChartImage("server.image", VAULT_IMAGE.reference),
        ChartImage("csi.image", VAULT_CSI_PROVIDER_IMAGE.reference),
        ChartImage("csi.agent.image", VAULT_IMAGE.reference),
    ),
)

CHARTS = (CSI_DRIVER, AZURE_PROVIDER, VAULT)

CSI_DRIVER_NAME = "secrets-store.csi.k8s.io"
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"
DRIVER_METRICS_PORT = 8095
AZURE_PROVIDER_METRICS_PORT = 8898
