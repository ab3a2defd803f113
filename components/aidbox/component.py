"""Aidbox: its config, credentials, Deployment, Service, disruption budget and, when asked
for, autoscaler, public Ingress and ServiceMonitor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import naming
from ..binding import StoreBinding
from ..database import Database
from ..kubernetes.helm_values import prometheus_annotations
from ..kubernetes.metrics import ScrapeTarget, scrape
from ..kubernetes.pull import image_from
from ..kubernetes.secret_provider_class import SecretProviderClass
from ..passwords import generated_password
from ..settings import Autoscaling, Settings, Tls
from ..settings.managed import AUTH_KEYS
from . import render, start
from .pod import pod_spec
from .service_account import StoreServiceAccount

NAME = naming.AIDBOX
CONFIG_MAP = naming.AIDBOX_CONFIG_MAP
CREDENTIALS_SECRET = naming.AIDBOX_CREDENTIALS_SECRET
INGRESS_CLASS = "webapprouting.kubernetes.azure.com"  # the AKS application routing add-on
KEY_VAULT_CERT_ANNOTATION = "kubernetes.azure.com/tls-cert-keyvault-uri"
# FHIR transactions and bulk imports exceed NGINX's 1 MiB default request body.
INGRESS_ANNOTATIONS = {"nginx.ingress.kubernetes.io/proxy-body-size": "64m"}
METRICS_ENDPOINTS = (("/metrics", "10s"), ("/metrics/minutes", "60s"), ("/metrics/hours", "10m"))


@dataclass(frozen=True)
class AidboxArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    settings: Settings
    binding: StoreBinding  # Aidbox's reader of the store
    secret_provider_class: SecretProviderClass
    service_account: StoreServiceAccount
    database: Database
    labels: Mapping[str, str]
    image_registry: pulumi.Input[str] | None = None  # a registry you own: its copy


def ingress_annotations(tls: Tls) -> dict[str, str]:
    annotations = dict(INGRESS_ANNOTATIONS)
    if tls.key_vault_certificate_uri:
        annotations[KEY_VAULT_CERT_ANNOTATION] = tls.key_vault_certificate_uri
    return annotations


def ingress_spec(host: str, tls: Tls) -> dict[str, Any]:
    # With a Key Vault certificate the add-on writes it into the Secret keyvault-<Ingress>.
    secret = tls.secret_name or f"keyvault-{NAME}"
    backend = {"service": {"name": NAME, "port": {"number": render.WEB_PORT}}}
    return {
        "ingressClassName": INGRESS_CLASS,
        "tls": [{"hosts": [host], "secretName": secret}],
        "rules": [
            {
                "host": host,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
        ],
    }


def autoscaler_spec(a: Autoscaling) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": a.target_cpu_utilization}
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
        "minReplicas": a.min_replicas,
        "maxReplicas": a.max_replicas,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
    }


class Aidbox(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    url: pulumi.Output[str]
    secret_paths: dict[str, str]

    def __init__(
        self, name: str, args: AidboxArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:Aidbox", name, None, opts)
        s, binding, db = args.settings, args.binding, args.database
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        labels = {**args.labels, "app.kubernetes.io/name": NAME}
        meta = {"namespace": args.namespace, "labels": labels}

        vault_config = render.to_json(render.vault_config(s.secrets, binding.mount_dir))
        bundle = render.init_bundle(s.secrets)
        files = {render.VAULT_CONFIG_FILE: vault_config}
        if bundle is not None:
            files[render.INIT_BUNDLE_FILE] = render.to_json(bundle)
        self.secret_paths = {
            spec.name: render.secret_file(binding.mount_dir, spec.name)
            for spec in s.secrets
            if not spec.managed
        }

        config = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata={**meta, "name": CONFIG_MAP}, data=files, opts=child
        )
        from_store = {env for env, _ in s.aidbox.env_from_store}
        credentials = self._credentials(name, meta, s, from_store, child)

        in_cluster_url = f"http://{NAME}.{s.namespace}.svc.cluster.local:{render.WEB_PORT}"
        base_url = s.aidbox.base_url or in_cluster_url
        env = render.aidbox_env(
            box_id=f"aidbox-{s.stack}",
            base_url=base_url,
            db_host=db.host,
            db_port=db.port,
            db_name=db.name,
            db_user=db.user,
            db_tls=db.tls,
            credentials_secret=CREDENTIALS_SECRET,
            from_store=from_store,
            has_license=s.aidbox.license is not None,
            has_init_bundle=bundle is not None,
            legacy_secret_dir=binding.mount_dir if s.aidbox.legacy_secret_file_env else None,
            java_opts=s.aidbox.java_opts,
            dev_mode=s.aidbox.dev_mode,
            extra_env=s.aidbox.env,
        )
        # The signing keys, the database password and aidbox.envFromStore, from the store's
        # files into env at start: no Kubernetes Secret holds them.
        command = start.start_command(
            files=render.store_env_files(
                binding.mount_dir,
                db_password_secret=db.password_secret,
                env_from_store=s.aidbox.env_from_store,
            ),
            key_bundle=render.secret_file(binding.mount_dir, AUTH_KEYS),
        )
        pod_labels = {**labels, **binding.pod_labels}
        selector = {"app.kubernetes.io/name": NAME}
        # A changed vault config or bundle needs a restart: roll the pods.
        annotations = {"checksum/aidbox-config": render.checksum(*sorted(files.values()))}
        if s.csi.metrics == "annotations":
            annotations |= {
                **prometheus_annotations(render.METRICS_PORT),
                "prometheus.io/path": "/metrics",
            }
        spec: dict[str, Any] = {
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": pod_spec(
                    s=s,
                    binding=binding,
                    spc_name=args.secret_provider_class.spc_name,
                    config_map=CONFIG_MAP,
                    env=env,
                    command=command,
                    selector=selector,
                    image=image_from(s.aidbox.image, args.image_registry),
                ),
            },
        }
        if s.aidbox.autoscaling is None:
            # With an autoscaler the count is its to set: a fixed one here would be reset by
            # every `pulumi up`.
            spec["replicas"] = s.aidbox.replicas
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**meta, "name": NAME},
            spec=spec,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                # Everything the first pod needs, so the first rollout does not crash-loop
                # into the await timeout: the store configured and readable (secrets, grant,
                # federated credential, Vault role), the class, the database up.
                depends_on=[
                    args.service_account.resource,
                    config,
                    credentials,
                    args.secret_provider_class,
                    *binding.ready,
                    *db.ready,
                ],
            ),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={**meta, "name": NAME},
            spec={
                "selector": selector,
                "ports": [{"name": "http", "port": render.WEB_PORT, "targetPort": "http"}],
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=[deployment]
            ),
        )
        if s.aidbox.min_replicas > 1 or s.aidbox.autoscaling:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={**meta, "name": NAME},
                spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
                opts=child,
            )
        if s.aidbox.autoscaling:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata={**meta, "name": NAME},
                spec=autoscaler_spec(s.aidbox.autoscaling),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, depends_on=[deployment]
                ),
            )
        if s.aidbox.host and s.aidbox.tls:
            k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata={**meta, "name": NAME, "annotations": ingress_annotations(s.aidbox.tls)},
                spec=ingress_spec(s.aidbox.host, s.aidbox.tls),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, depends_on=[service]
                ),
            )
        if s.csi.metrics == "serviceMonitor":
            target = ScrapeTarget(NAME, selector, render.METRICS_PORT)
            api = s.csi.service_monitor_api_version
            scrape(f"{name}-metrics", target, args.namespace, child, api, METRICS_ENDPOINTS)
        self.service_name = service.metadata.apply(lambda m: m.name)
        self.url = pulumi.Output.from_input(base_url)
        self.register_outputs({"serviceName": self.service_name, "url": self.url})

    def _credentials(
        self,
        name: str,
        meta: dict[str, Any],
        s: Settings,
        from_store: set[str],
        opts: pulumi.ResourceOptions,
    ) -> k8s.core.v1.Secret:
        """Generated admin password and root client secret (unless the store holds them),
        and the license when set in config."""
        generated = {
            key: generated_password(f"{name}-{key}", self)
            for env, key in render.GENERATED_CREDENTIALS.items()
            if env not in from_store
        }
        if s.aidbox.license is not None:
            generated["license"] = s.aidbox.license.output()
        return k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={**meta, "name": CREDENTIALS_SECRET},
            type="Opaque",
            string_data=generated,
            opts=opts,
        )
