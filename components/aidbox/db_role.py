"""Aidbox's own database role: a Job that runs the role script (db_role_sql.py) as the
database administrator, once, before Aidbox starts, in either database mode.

Why a Job: Azure's API creates servers and databases but not roles inside them, so something
must speak SQL to the server from inside its network; the same Job serves the in-cluster
database, and existing volumes too (an init script in the image's /docker-entrypoint-initdb.d
runs only on an empty volume). Both passwords are read from the store's files in the pod: the
administrator's by the shell into PGPASSWORD, Aidbox's role's by psql itself; neither is in the
manifest, a ConfigMap or an env literal. The Job runs again when its script or image changes
(the pod template's checksum), or by hand after a rotation (docs/operations.md, "Rotate")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..binding import StoreBinding
from ..database import APP_ROLE, Database
from ..kubernetes.pull import image_from
from ..kubernetes.secret_provider_class import SecretProviderClass, csi_volume
from . import render
from .db_role_sql import role_sql
from .postgres import POSTGRES_POD_SECURITY
from .service_account import StoreServiceAccount

NAME = "aidbox-db-role"
SCRIPT_DIR = "/etc/aidbox-db-role"
SCRIPT = "role.sql"
SECRETS_VOLUME = "secrets-store"


def role_container(db: Database, image: pulumi.Input[str], mount_dir: str) -> dict[str, Any]:
    admin_file = render.secret_file(mount_dir, db.admin_password_secret)
    env = [
        {"name": "PGHOST", "value": db.host},
        {"name": "PGPORT", "value": str(db.port)},
        {"name": "PGDATABASE", "value": db.name},
        {"name": "PGUSER", "value": db.admin_user},
        # The managed server requires TLS. psql here does not check the server's certificate
        # (the image's trust store is not relied on); the server is reached only through its
        # private DNS zone in the cluster's network, and Aidbox itself verifies it fully.
        {"name": "PGSSLMODE", "value": "require" if db.tls else "disable"},
        {"name": "PGCONNECT_TIMEOUT", "value": "10"},
    ]
    command = (
        f'PGPASSWORD="$(cat {admin_file})" exec psql -X -q '
        f'-v app={APP_ROLE} -v db="$PGDATABASE" -f {SCRIPT_DIR}/{SCRIPT}'
    )
    return {
        "name": "psql",
        "image": image,
        "command": ["sh", "-c", command],
        "env": env,
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": SECRETS_VOLUME, "mountPath": mount_dir, "readOnly": True},
            {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
        ],
    }


@dataclass(frozen=True)
class DatabaseRoleArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    database: Database
    image: str  # one with psql: the in-cluster database's
    # The database's reader: it mounts both passwords (the administrator's, to log in; Aidbox's
    # role's, to set it) and no key or client secret.
    binding: StoreBinding
    secret_provider_class: SecretProviderClass
    service_account: StoreServiceAccount
    labels: Mapping[str, str]
    image_registry: pulumi.Input[str] | None = None  # a registry you own: its copy


class DatabaseRole(pulumi.ComponentResource):
    job: k8s.batch.v1.Job

    def __init__(
        self, name: str, args: DatabaseRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:DatabaseRole", name, None, opts)
        db, binding = args.database, args.binding
        labels = {**args.labels, "app.kubernetes.io/name": NAME}
        meta = {"name": NAME, "namespace": args.namespace, "labels": labels}
        script = role_sql(render.secret_file(binding.mount_dir, db.password_secret))
        config = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=meta,
            data={SCRIPT: script},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        volume = csi_volume(
            SECRETS_VOLUME, args.secret_provider_class.spc_name, binding.node_publish_secret
        )
        waits: Sequence[pulumi.Resource] = [
            config,
            args.secret_provider_class,
            args.service_account.resource,
            *binding.ready,
            *db.ready,
        ]
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=meta,
            spec={
                "backoffLimit": 6,  # the server may still be settling after its creation
                "template": {
                    "metadata": {
                        "labels": {**labels, **binding.pod_labels},
                        # A changed script makes a new pod template: Pulumi replaces the Job.
                        "annotations": {"checksum/role-sql": render.checksum(script)},
                    },
                    "spec": {
                        "restartPolicy": "Never",
                        # The database's account; the pod never calls the API.
                        "serviceAccountName": args.service_account.account_name,
                        "automountServiceAccountToken": False,
                        "securityContext": POSTGRES_POD_SECURITY,
                        "containers": [
                            role_container(
                                db, image_from(args.image, args.image_registry), binding.mount_dir
                            )
                        ],
                        "volumes": [
                            volume,
                            {"name": "script", "configMap": {"name": NAME}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=list(waits),
                # Its name is fixed: the old Job goes before the new one runs.
                delete_before_replace=True,
            ),
        )
        self.register_outputs({})
