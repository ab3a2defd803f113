"""PostgreSQL for Aidbox in the cluster: a StatefulSet with a persistent volume. Its password
comes from the secret store through the CSI volume, never from a Kubernetes manifest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import naming
from ..binding import StoreBinding
from ..database import APP_ROLE, Database
from ..kubernetes.pull import image_from
from ..kubernetes.secret_provider_class import SecretProviderClass, csi_volume
from ..settings import PostgresSettings
from ..settings.managed import DB_APP_PASSWORD, DB_PASSWORD
from .service_account import StoreServiceAccount

PORT = 5432
# The pods that run PostgreSQL's image (the server, the role Job's psql): as its postgres user.
POSTGRES_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 999,  # the postgres user of the official image
    "fsGroup": 999,
    "seccompProfile": {"type": "RuntimeDefault"},
}
SECRETS_VOLUME = "secrets-store"


@dataclass(frozen=True)
class PostgresArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    settings: PostgresSettings
    labels: Mapping[str, str]
    # The database's reader of the store, its class and the ServiceAccount the store lets read
    # the database's passwords (and nothing else): the pod reads the administrator's password
    # file (POSTGRES_PASSWORD_FILE).
    binding: StoreBinding
    secret_provider_class: SecretProviderClass
    service_account: StoreServiceAccount
    database: str = "aidbox"
    user: str = "aidbox"  # POSTGRES_USER: the superuser; Aidbox gets a role of its own
    service_name: str = naming.POSTGRES
    protect: bool = False
    image_registry: pulumi.Input[str] | None = None  # a registry you own: its copy


def postgres_container(args: PostgresArgs, mount_dir: str) -> dict[str, Any]:
    ready = {"exec": {"command": ["pg_isready", "-U", args.user, "-d", args.database]}}
    return {
        "name": "postgres",
        "image": image_from(args.settings.image, args.image_registry),
        "ports": [{"name": "postgres", "containerPort": PORT}],
        "env": [
            {"name": "POSTGRES_DB", "value": args.database},
            {"name": "POSTGRES_USER", "value": args.user},
            # The official image reads the initial password from this file (initdb only).
            {"name": "POSTGRES_PASSWORD_FILE", "value": f"{mount_dir}/{DB_PASSWORD}"},
            # The volume's root holds lost+found; initdb needs an empty directory.
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/db"},
        ],
        "readinessProbe": {**ready, "periodSeconds": 10},
        "livenessProbe": {**ready, "initialDelaySeconds": 30, "periodSeconds": 20},
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": SECRETS_VOLUME, "mountPath": mount_dir, "readOnly": True},
        ],
    }


class Postgres(pulumi.ComponentResource):
    host: pulumi.Output[str]
    database: Database

    def __init__(
        self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:Postgres", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        svc, binding = args.service_name, args.binding
        labels = {**args.labels, "app.kubernetes.io/name": svc}
        selector = {"app.kubernetes.io/name": svc}
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": svc, "namespace": args.namespace, "labels": labels},
            spec={"selector": selector, "ports": [{"name": "postgres", "port": PORT}]},
            opts=child,
        )
        volume = csi_volume(
            SECRETS_VOLUME, args.secret_provider_class.spc_name, binding.node_publish_secret
        )
        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": svc, "namespace": args.namespace, "labels": labels},
            spec={
                "serviceName": svc,
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**labels, **binding.pod_labels}},
                    "spec": {
                        "serviceAccountName": args.service_account.account_name,
                        # PostgreSQL never calls the Kubernetes API (the CSI driver asks for
                        # its own token).
                        "automountServiceAccountToken": False,
                        "securityContext": POSTGRES_POD_SECURITY,
                        "containers": [postgres_container(args, binding.mount_dir)],
                        "volumes": [volume],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": args.settings.storage_size}},
                        },
                    }
                ],
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                protect=args.protect,
                # The password file comes from the store through this class, read as this
                # account.
                depends_on=[args.secret_provider_class, args.service_account.resource],
            ),
        )
        self.host = pulumi.Output.concat(
            service.metadata.apply(lambda m: m.name), ".", args.namespace, ".svc.cluster.local"
        )
        # Pulumi waits for the StatefulSet's pod to be ready: Aidbox waits for that.
        self.database = Database(
            host=self.host,
            port=PORT,
            name=args.database,
            user=APP_ROLE,
            password_secret=DB_APP_PASSWORD,
            admin_user=args.user,  # the image's superuser (POSTGRES_USER)
            admin_password_secret=DB_PASSWORD,
            tls=False,
            ready=(statefulset, service),
        )
        self.register_outputs({"host": self.host})
