"""An `ha` Vault's listener certificate: a CA and a server certificate (pulumi-tls; the keys
live only in the encrypted state and the server's Secret), and the CA alone for the CSI
provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from ..vault_access import vault_server_dns_names
from .pieces import ca_config_map
from .records import RELEASE_NAME, TLS_SECRET, StoreContext

CA_VALIDITY_HOURS = 10 * 8760
SERVER_CERT_VALIDITY_HOURS = 8760
# A `pulumi up` in the last 30 days of the server certificate issues a new one.
SERVER_CERT_RENEWAL_HOURS = 720


@dataclass(frozen=True)
class ServerTls:
    ready: list[pulumi.Resource]  # the Secret and the CA ConfigMap the release waits for
    cert_pem: pulumi.Output[str]  # public: a renewal changes the pods' checksum annotation
    ca_pem: pulumi.Output[str]


def server_tls(ctx: StoreContext) -> ServerTls:
    """The server's TLS Secret and the CA ConfigMap, which the chart release waits for."""
    v, child = ctx.vault, pulumi.ResourceOptions(parent=ctx.store)
    ca_key = tls.PrivateKey(f"{ctx.name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    ca = tls.SelfSignedCert(
        f"{ctx.name}-ca",
        private_key_pem=ca_key.private_key_pem,
        is_ca_certificate=True,
        subject={"common_name": f"aidbox-secrets {ctx.settings.stack} Vault CA"},
        validity_period_hours=CA_VALIDITY_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
        opts=child,
    )
    server_key = tls.PrivateKey(
        f"{ctx.name}-server-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child
    )
    request = tls.CertRequest(
        f"{ctx.name}-server-csr",
        private_key_pem=server_key.private_key_pem,
        subject={"common_name": f"{RELEASE_NAME}.{v.helm_namespace}.svc"},
        dns_names=vault_server_dns_names(RELEASE_NAME, v.helm_namespace, v.replicas),
        ip_addresses=["127.0.0.1"],  # `vault` inside the pod (VAULT_ADDR)
        opts=child,
    )
    cert = tls.LocallySignedCert(
        f"{ctx.name}-server-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=ca_key.private_key_pem,
        ca_cert_pem=ca.cert_pem,
        validity_period_hours=SERVER_CERT_VALIDITY_HOURS,
        early_renewal_hours=SERVER_CERT_RENEWAL_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        opts=child,
    )
    secret = k8s.core.v1.Secret(
        f"{ctx.name}-server-tls",
        metadata={"name": TLS_SECRET, "namespace": v.helm_namespace},
        type="kubernetes.io/tls",
        string_data=pulumi.Output.secret(
            pulumi.Output.all(cert.cert_pem, server_key.private_key_pem, ca.cert_pem).apply(
                lambda p: {"tls.crt": p[0], "tls.key": p[1], "ca.crt": p[2]}
            )
        ),
        opts=ctx.after(ctx.namespace),
    )
    return ServerTls([secret, ca_config_map(ctx, ca.cert_pem)], cert.cert_pem, ca.cert_pem)
