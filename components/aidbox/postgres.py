"""PostgreSQL for Aidbox: an in-cluster StatefulSet with a persistent volume."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .. import naming
from ..passwords import generated_password
from ..settings import PostgresSettings

PORT = 5432
PASSWORD_KEY = "password"


@dataclass(frozen=True)
class PostgresArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    settings: PostgresSettings
    labels: Mapping[str, str]
    database: str = "aidbox"
    user: str = "aidbox"
    service_name: str = naming.POSTGRES
    protect: bool = False


class Postgres(pulumi.ComponentResource):
    host: pulumi.Output[str]
    service_name: str
    database: str
    user: str
    password_secret: tuple[str, str]  # (Secret name, key) holding the password

    def __init__(
        self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:Postgres", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        svc = args.service_name
        labels = {**args.labels, "app.kubernetes.io/name": svc}
        selector = {"app.kubernetes.io/name": svc}
        password = generated_password(f"{name}-password", self)
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": svc, "namespace": args.namespace, "labels": labels},
            type="Opaque",
            string_data={PASSWORD_KEY: password},
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": svc, "namespace": args.namespace, "labels": labels},
            spec={"selector": selector, "ports": [{"name": "postgres", "port": PORT}]},
            opts=child,
        )
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": svc, "namespace": args.namespace, "labels": labels},
            spec={
                "serviceName": svc,
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        # PostgreSQL never calls the Kubernetes API.
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 999,  # the postgres user of the official image
                            "fsGroup": 999,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "postgres",
                                "image": args.settings.image,
                                "ports": [{"name": "postgres", "containerPort": PORT}],
                                "env": [
                                    {"name": "POSTGRES_DB", "value": args.database},
                                    {"name": "POSTGRES_USER", "value": args.user},
                                    {
                                        "name": "POSTGRES_PASSWORD",
                                        "valueFrom": {
                                            "secretKeyRef": {"name": svc, "key": PASSWORD_KEY}
                                        },
                                    },
                                    # The volume's root holds lost+found; initdb needs an
                                    # empty directory.
                                    {"name": "PGDATA", "value": "/var/lib/postgresql/data/db"},
                                ],
                                "readinessProbe": {
                                    "exec": {"command": ["pg_isready", "-U", args.user]},
                                    "periodSeconds": 10,
                                },
                                "livenessProbe": {
                                    "exec": {"command": ["pg_isready", "-U", args.user]},
                                    "initialDelaySeconds": 30,
                                    "periodSeconds": 20,
                                },
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "512Mi"},
                                    "limits": {"cpu": "2", "memory": "2Gi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/var/lib/postgresql/data"}
                                ],
                            }
                        ],
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
                depends_on=[secret],
            ),
        )
        self.host = pulumi.Output.concat(
            service.metadata.apply(lambda m: m.name), ".", args.namespace, ".svc.cluster.local"
        )
        self.service_name, self.database, self.user = svc, args.database, args.user
        self.password_secret = (svc, PASSWORD_KEY)
        self.register_outputs({"host": self.host})
