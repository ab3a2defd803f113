"""What runs on the cluster once the store can be read: the SecretProviderClasses and
ServiceAccounts of Aidbox and of its database (each reads only its own secrets), the in-cluster
database or the managed one, the Job that creates Aidbox's own database role, and Aidbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from .. import naming
from ..aidbox.component import Aidbox, AidboxArgs
from ..aidbox.db_role import DatabaseRole, DatabaseRoleArgs
from ..aidbox.postgres import Postgres, PostgresArgs
from ..aidbox.service_account import StoreServiceAccount, StoreServiceAccountArgs
from ..binding import StoreBinding
from ..database import Database
from ..kubernetes.secret_provider_class import SecretProviderClass, SecretProviderClassArgs
from ..settings import Settings
from ..stores.parameters import secret_objects


@dataclass(frozen=True)
class Workload:
    spc: SecretProviderClass
    aidbox: Aidbox


def build_workload(
    settings: Settings,
    *,
    provider: pulumi.ProviderResource,
    namespace: pulumi.Input[str],
    aidbox_binding: StoreBinding,
    database_binding: StoreBinding,
    managed_database: Database | None,
    driver_ready: Sequence[pulumi.Resource],
    labels: dict[str, str],
    image_registry: pulumi.Input[str] | None,
) -> Workload:
    spc = SecretProviderClass(
        "spc",
        SecretProviderClassArgs(
            provider=provider,
            namespace=namespace,
            binding=aidbox_binding,
            secret_objects=secret_objects(settings.secrets),
            depends_on=driver_ready,
            labels=labels,
        ),
    )
    # The store lets this account read Aidbox's secrets; Aidbox runs as it.
    account = StoreServiceAccount(
        "aidbox-account",
        StoreServiceAccountArgs(
            provider=provider,
            namespace=namespace,
            name=settings.aidbox.service_account,
            binding=aidbox_binding,
            labels=labels,
        ),
    )
    # The database's passwords, and nothing else, for the database's own account.
    database_spc = SecretProviderClass(
        "spc-database",
        SecretProviderClassArgs(
            provider=provider,
            namespace=namespace,
            binding=database_binding,
            depends_on=driver_ready,
            spc_name=naming.DATABASE_SECRET_PROVIDER_CLASS,
            labels=labels,
        ),
    )
    database_account = StoreServiceAccount(
        "database-account",
        StoreServiceAccountArgs(
            provider=provider,
            namespace=namespace,
            name=settings.postgres.service_account,
            binding=database_binding,
            labels=labels,
            resource_name="database-service-account",
        ),
    )
    if managed_database is not None:
        database = managed_database
    else:
        database = Postgres(
            "postgres",
            PostgresArgs(
                provider=provider,
                namespace=namespace,
                settings=settings.postgres,
                labels=labels,
                binding=database_binding,
                secret_provider_class=database_spc,
                service_account=database_account,
                protect=settings.production,
                image_registry=image_registry,
            ),
        ).database
    # Aidbox's own database role, created by the administrator before Aidbox starts.
    role = DatabaseRole(
        "aidbox-db-role",
        DatabaseRoleArgs(
            provider=provider,
            namespace=namespace,
            database=database,
            image=settings.postgres.image,
            binding=database_binding,
            secret_provider_class=database_spc,
            service_account=database_account,
            labels=labels,
            image_registry=image_registry,
        ),
    )
    database = dataclasses.replace(database, ready=(*database.ready, role.job))
    aidbox = Aidbox(
        "aidbox",
        AidboxArgs(
            provider=provider,
            namespace=namespace,
            settings=settings,
            binding=aidbox_binding,
            secret_provider_class=spc,
            service_account=account,
            database=database,
            labels=labels,
            image_registry=image_registry,
        ),
    )
    return Workload(spc, aidbox)
