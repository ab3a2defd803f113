"""Aidbox: its ServiceAccount, config, credentials, Deployment, Service and disruption budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import naming
from ..kubernetes.secret_provider_class import SecretProviderClass
from ..passwords import generated_password
from ..settings import Settings
from ..stores.binding import StoreBinding
from ..versions import CSI_DRIVER_NAME
from . import render
from .postgres import Postgres

NAME = naming.AIDBOX
CONFIG_MAP = naming.AIDBOX_CONFIG_MAP
CREDENTIALS_SECRET = naming.AIDBOX_CREDENTIALS_SECRET
SECRETS_VOLUME = "secrets-store"


@dataclass(frozen=True)
class AidboxArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    settings: Settings
    binding: StoreBinding
    secret_provider_class: SecretProviderClass
    postgres: Postgres
    labels: Mapping[str, str]


class Aidbox(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    url: pulumi.Output[str]
    secret_paths: dict[str, str]

    def __init__(
        self, name: str, args: AidboxArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:Aidbox", name, None, opts)
        s, binding = args.settings, args.binding
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        labels = {**args.labels, "app.kubernetes.io/name": NAME}
        meta = {"namespace": args.namespace, "labels": labels}

        vault_config = render.to_json(render.vault_config(s.secrets, binding.mount_dir))
        bundle = render.init_bundle(s.secrets)
        files = {render.VAULT_CONFIG_FILE: vault_config}
        if bundle is not None:
            files[render.INIT_BUNDLE_FILE] = render.to_json(bundle)
        self.secret_paths = {
            spec.name: render.secret_file(binding.mount_dir, spec.name) for spec in s.secrets
        }

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={
                **meta,
                "name": s.aidbox.service_account,
                "annotations": dict(binding.service_account_annotations),
            },
            # Aidbox never calls the Kubernetes API; the CSI driver requests its own tokens.
            automount_service_account_token=False,
            opts=child,
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata={**meta, "name": CONFIG_MAP}, data=files, opts=child
        )
        synced = {spec.name: spec.kubernetes_secret for spec in s.secrets}
        store_env = {
            env: (synced[secret].name, synced[secret].key)  # type: ignore[union-attr]
            for env, secret in s.aidbox.env_from_store
        }
        credentials = self._credentials(name, meta, s, set(store_env), child)

        base_url = f"http://{NAME}.{s.namespace}.svc.cluster.local:{render.WEB_PORT}"
        env = render.aidbox_env(
            box_id=f"aidbox-{s.stack}",
            base_url=base_url,
            db_host=f"{args.postgres.service_name}.{s.namespace}.svc.cluster.local",
            db_name=args.postgres.database,
            db_user=args.postgres.user,
            db_secret=args.postgres.password_secret,
            credentials_secret=CREDENTIALS_SECRET,
            store_env=store_env,
            has_license=s.aidbox.license is not None,
            has_init_bundle=bundle is not None,
            legacy_secret_dir=binding.mount_dir if s.aidbox.legacy_secret_file_env else None,
        )
        pod_labels = {**labels, **binding.pod_labels}
        selector = {"app.kubernetes.io/name": NAME}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**meta, "name": NAME},
            spec={
                "replicas": s.aidbox.replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        # A changed vault config or bundle needs a restart: roll the pods.
                        "annotations": {
                            "checksum/aidbox-config": render.checksum(*sorted(files.values()))
                        },
                    },
                    "spec": self._pod_spec(args, env),
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[account, config, credentials, args.secret_provider_class],
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
        if s.aidbox.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={**meta, "name": NAME},
                spec={"minAvailable": s.aidbox.replicas - 1, "selector": {"matchLabels": selector}},
                opts=child,
            )
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
        keys = {
            "BOX_ADMIN_PASSWORD": "admin-password",
            "BOX_ROOT_CLIENT_SECRET": "root-client-secret",
        }
        generated = {
            key: generated_password(f"{name}-{key}", self)
            for env, key in keys.items()
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

    def _pod_spec(self, args: AidboxArgs, env: list[dict[str, Any]]) -> dict[str, Any]:
        s, binding = args.settings, args.binding
        csi: dict[str, Any] = {
            "driver": CSI_DRIVER_NAME,
            "readOnly": True,
            "volumeAttributes": {"secretProviderClass": args.secret_provider_class.spc_name},
        }
        if binding.node_publish_secret:
            csi["nodePublishSecretRef"] = {"name": binding.node_publish_secret}
        health = {"httpGet": {"path": "/health", "port": "http"}}
        return {
            "serviceAccountName": s.aidbox.service_account,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "fsGroup": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": NAME,
                    "image": s.aidbox.image,
                    "ports": [
                        {"name": "http", "containerPort": render.WEB_PORT},
                        {"name": "metrics", "containerPort": render.METRICS_PORT},
                    ],
                    "env": env,
                    "startupProbe": {**health, "periodSeconds": 5, "failureThreshold": 60},
                    "readinessProbe": {**health, "periodSeconds": 10, "failureThreshold": 3},
                    "livenessProbe": {**health, "periodSeconds": 15, "failureThreshold": 4},
                    "resources": {
                        "requests": {
                            "cpu": s.aidbox.cpu_request,
                            "memory": s.aidbox.memory_request,
                        },
                        "limits": {"cpu": s.aidbox.cpu_limit, "memory": s.aidbox.memory_limit},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    # No subPath on the secrets volume: a subPath mount never sees rotation.
                    "volumeMounts": [
                        {"name": SECRETS_VOLUME, "mountPath": binding.mount_dir, "readOnly": True},
                        {"name": "config", "mountPath": render.CONFIG_DIR, "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {"name": SECRETS_VOLUME, "csi": csi},
                {"name": "config", "configMap": {"name": CONFIG_MAP}},
            ],
        }
