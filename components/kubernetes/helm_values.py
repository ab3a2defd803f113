"""Pure Helm values for the pinned charts (see versions.py for the keys each may set)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..versions import (
    AZURE_PROVIDER_METRICS_PORT,
    DRIVER_METRICS_PORT,
    VAULT_CSI_PROVIDER_IMAGE,
    VAULT_IMAGE,
)

AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange"


def prometheus_annotations(port: int) -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}


def csi_driver_values(
    *,
    rotation_poll_interval: str,
    workload_identity: bool,
    scrape_annotations: bool,
    sync_secrets: bool,
) -> dict[str, Any]:
    """`sync_secrets` grants the driver cluster-wide RBAC on Secrets: only when some secret is
    mirrored into a Kubernetes Secret (`secretObjects`)."""
    values: dict[str, Any] = {
        "syncSecret": {"enabled": sync_secrets},
        "enableSecretRotation": True,
        "rotationPollInterval": rotation_poll_interval,
        "linux": {"crds": {"enabled": True}},
    }
    if workload_identity:
        # The driver requests this audience's token for the pod, which Azure exchanges.
        values["tokenRequests"] = [{"audience": AZURE_TOKEN_AUDIENCE}]
    if scrape_annotations:
        values["linux"]["podAnnotations"] = prometheus_annotations(DRIVER_METRICS_PORT)
    return values


def azure_provider_values(*, scrape_annotations: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"secrets-store-csi-driver": {"install": False}}
    if scrape_annotations:
        values["linux"] = {"podAnnotations": prometheus_annotations(AZURE_PROVIDER_METRICS_PORT)}
    return values


# Where the Vault server finds its TLS files (tls.crt, tls.key, ca.crt), and where the CSI
# provider and its agent find the CA alone (ca.crt).
VAULT_TLS_DIR = "/vault/tls"
VAULT_CA_DIR = "/vault/ca"
VAULT_CA_FILE = f"{VAULT_CA_DIR}/ca.crt"
VAULT_DEV_TOKEN_ENV = "VAULT_DEV_ROOT_TOKEN"
# The chart always renders VAULT_DEV_ROOT_TOKEN_ID with server.dev.devRootToken as a literal;
# the -dev-root-token-id flag takes precedence over it, so the literal is only this marker.
DEV_TOKEN_MARKER = "unused:set-by-dev-root-token-id-flag"
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
WORKLOAD_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
# The chart's own defaults (uid 100, gid 1000, no privilege escalation) plus what the restricted
# Pod Security Standard asks: the runtime's seccomp profile and no capabilities.
VAULT_SERVER_SECURITY_CONTEXT = {
    "pod": {
        "runAsNonRoot": True,
        "runAsUser": 100,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}
# vault-csi-provider creates its socket in the node's provider directory (hostPath) as root:
# that keeps it from baseline and restricted, but it needs no capability, no privilege
# escalation and no syscall outside the runtime's default profile (nor does its agent).
VAULT_CSI_SECURITY_CONTEXT = {
    "pod": {"seccompProfile": {"type": "RuntimeDefault"}},
    "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}
VAULT_SERVER_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
# On the server pods: a renewed certificate changes the pod template
# (docs/vault.md, "ha: addresses and certificates").
TLS_CHECKSUM_ANNOTATION = "aidbox-secrets/tls-checksum"
# The chart's env var of the pod's name (metadata.name), defined before VAULT_API_ADDR: the
# chart's HOSTNAME comes after it, and $(VAR) expands only variables defined earlier.
POD_NAME_ENV = "VAULT_K8S_POD_NAME"


def tls_checksum(cert_pem: str, ca_pem: str) -> str:
    """What changes when pulumi-tls renews the server certificate (public material only)."""
    return hashlib.sha256(f"{cert_pem}\0{ca_pem}".encode()).hexdigest()


@dataclass(frozen=True)
class VaultHa:
    """An `ha` Vault: Raft over TLS, auto-unsealed by an Azure Key Vault key."""

    release: str  # the chart's fullname: pods are <release>-N.<release>-internal
    namespace: str
    replicas: int
    tls_secret: str  # Secret with tls.crt, tls.key, ca.crt
    ca_config_map: str  # ConfigMap with ca.crt, for the CSI provider
    key_vault_name: str
    key_name: str
    client_id: str  # the user-assigned identity the server pods federate to
    tls_checksum: str  # tls_checksum() of the server certificate and its CA

    def pod_address(self, port: int) -> str:
        """A server pod's own name in its certificate (vault_server_dns_names)."""
        host = f"$({POD_NAME_ENV}).{self.release}-internal.{self.namespace}.svc"
        return f"https://{host}:{port}"


def vault_raft_config(ha: VaultHa) -> str:
    """Vault's server config: TLS listener, Raft joined over TLS to every pod, Azure Key
    Vault seal (credentials from workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID and
    AZURE_FEDERATED_TOKEN_FILE, injected by the AKS webhook; no client secret), and Prometheus
    telemetry. Metrics are served without a token on the listener: a sealed node cannot check
    a token, and a standby forwards an authenticated /v1/sys/metrics to the active node, so
    only unauthenticated access gives every pod's own vault_core_unsealed (Vault's telemetry
    docs); they hold no secret, and the NetworkPolicy admits only the Prometheus agent."""
    joins = "".join(
        "\n  retry_join {\n"
        f'    leader_api_addr = "https://{ha.release}-{i}.{ha.release}-internal:8200"\n'
        f'    leader_ca_cert_file = "{VAULT_TLS_DIR}/ca.crt"\n'
        "  }"
        for i in range(ha.replicas)
    )
    return (
        "ui = false\n"
        "disable_mlock = true\n"
        'listener "tcp" {\n'
        '  address = "[::]:8200"\n'
        '  cluster_address = "[::]:8201"\n'
        f'  tls_cert_file = "{VAULT_TLS_DIR}/tls.crt"\n'
        f'  tls_key_file = "{VAULT_TLS_DIR}/tls.key"\n'
        '  tls_min_version = "tls12"\n'
        "  telemetry {\n"
        "    unauthenticated_metrics_access = true\n"
        "  }\n"
        "}\n"
        'storage "raft" {\n'
        '  path = "/vault/data"'
        f"{joins}\n"
        "}\n"
        'seal "azurekeyvault" {\n'
        f'  vault_name = "{ha.key_vault_name}"\n'
        f'  key_name = "{ha.key_name}"\n'
        "}\n"
        'service_registration "kubernetes" {}\n'
        "telemetry {\n"
        '  prometheus_retention_time = "24h"\n'
        "  disable_hostname = true\n"
        "}\n"
    )


def _csi_values(ca_config_map: str | None) -> dict[str, Any]:
    """The CSI provider; with a CA, mounted into the provider (SecretProviderClass
    vaultCACertPath) and its Vault Agent sidecar (-ca-cert)."""
    csi: dict[str, Any] = {
        "enabled": True,
        "daemonSet": {"securityContext": VAULT_CSI_SECURITY_CONTEXT},
        # Pinned here, not left to the chart's defaults: a chart bump must not move them. A
        # registry you own replaces the repositories with its copies (components/images.py).
        "image": VAULT_CSI_PROVIDER_IMAGE.values,
        "agent": {"image": VAULT_IMAGE.values},
    }
    if ca_config_map:
        csi["volumes"] = [{"name": "vault-ca", "configMap": {"name": ca_config_map}}]
        csi["volumeMounts"] = [{"name": "vault-ca", "mountPath": VAULT_CA_DIR, "readOnly": True}]
        csi["agent"]["extraArgs"] = [f"-ca-cert={VAULT_CA_FILE}"]
    return csi


def vault_dev_values(*, token_secret: str, token_key: str) -> dict[str, Any]:
    """A dev-mode server plus the CSI provider. The root token comes from a Kubernetes Secret
    through an env var the start script passes as -dev-root-token-id: no literal anywhere."""
    return {
        "injector": {"enabled": False},
        "csi": _csi_values(None),
        "server": {
            "image": VAULT_IMAGE.values,
            "dev": {"enabled": True, "devRootToken": DEV_TOKEN_MARKER},
            "extraSecretEnvironmentVars": [
                {"envName": VAULT_DEV_TOKEN_ENV, "secretName": token_secret, "secretKey": token_key}
            ],
            "extraArgs": f'-dev-root-token-id="${{{VAULT_DEV_TOKEN_ENV}}}"',
            "statefulSet": {"securityContext": VAULT_SERVER_SECURITY_CONTEXT},
        },
    }


def vault_ha_values(ha: VaultHa) -> dict[str, Any]:
    """Vault in HA with integrated storage: TLS on, one pod per node (the chart's required
    anti-affinity), spread over zones, auto-unseal through workload identity."""
    selector = {
        "app.kubernetes.io/name": "vault",
        "app.kubernetes.io/instance": ha.release,
        "component": "server",
    }
    return {
        "global": {"tlsDisable": False},
        "injector": {"enabled": False},
        "csi": _csi_values(ha.ca_config_map),
        "server": {
            "image": VAULT_IMAGE.values,
            "ha": {
                "enabled": True,
                "replicas": ha.replicas,
                "raft": {"enabled": True, "setNodeId": True, "config": vault_raft_config(ha)},
                # The chart's default api_addr is https://$(POD_IP):8200, which the certificate
                # does not hold: standby redirects and Raft would fail TLS verification.
                "apiAddr": ha.pod_address(8200),
                "clusterAddr": ha.pod_address(8201),
            },
            # Under the chart's OnDelete strategy nothing rolls by itself: these checksums on
            # the pod template show which pods still run an old certificate or config.
            "annotations": {TLS_CHECKSUM_ANNOTATION: ha.tls_checksum},
            "includeConfigAnnotation": True,
            "resources": VAULT_SERVER_RESOURCES,
            "statefulSet": {"securityContext": VAULT_SERVER_SECURITY_CONTEXT},
            "extraLabels": {WORKLOAD_IDENTITY_LABEL: "true"},
            "serviceAccount": {"annotations": {WORKLOAD_CLIENT_ID_ANNOTATION: ha.client_id}},
            "volumes": [{"name": "vault-tls", "secret": {"secretName": ha.tls_secret}}],
            "volumeMounts": [{"name": "vault-tls", "mountPath": VAULT_TLS_DIR, "readOnly": True}],
            # `vault` inside the pod (operator init, status) verifies the listener's TLS.
            "extraEnvironmentVars": {"VAULT_CACERT": f"{VAULT_TLS_DIR}/ca.crt"},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    # Zones are a node-pool property: where the pool has none, spread anyway.
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": selector},
                }
            ],
        },
    }


def vault_external_values(*, address: str, ca_config_map: str | None) -> dict[str, Any]:
    """The CSI provider only (with `global.enabled` false, since `server.enabled: false` alone
    still renders the server's ServiceAccount and its auth-delegator binding)."""
    return {
        "global": {"enabled": False, "externalVaultAddr": address},
        "injector": {"enabled": False},
        "csi": _csi_values(ca_config_map),
    }
