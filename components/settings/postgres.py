"""`postgres`: the database Aidbox uses, in the cluster or Azure Database for PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Section
from .values import image, k8s_object_name, quantity
from .vault import REGIONS_WITHOUT_ZONES

DEFAULT_POSTGRES_IMAGE = "postgres:17.6"
POSTGRES_MODES = ("inCluster", "azureFlexible")
FLEXIBLE_VERSIONS = ("16", "17")  # majors Aidbox supports (16-18) that Azure offers
FLEXIBLE_TIERS = ("Burstable", "GeneralPurpose", "MemoryOptimized")


@dataclass(frozen=True)
class FlexibleServerSettings:
    version: str = "16"
    sku: str = "Standard_D4ds_v5"
    tier: str = "GeneralPurpose"
    high_availability: bool = True  # zone-redundant standby (default: where the region has zones)
    backup_retention_days: int = 35
    geo_redundant_backup: bool = False
    storage_size_gb: int = 128


@dataclass(frozen=True)
class PostgresSettings:
    mode: str = "inCluster"
    image: str = DEFAULT_POSTGRES_IMAGE
    storage_size: str = "20Gi"
    flexible: FlexibleServerSettings | None = None
    # The account the in-cluster server and the role Job run as: the one the store lets read
    # the database's passwords, and nothing else.
    service_account: str = "aidbox-db"


def parse_postgres(
    top: Section, location: str, production: bool, *, azure: bool = True
) -> PostgresSettings:
    """The default is Azure's managed server on production (backups, zone-redundant HA) and
    the in-cluster StatefulSet elsewhere (cheap, no backups), or where there is no Azure."""
    s = top.section("postgres")
    s.reject_unknown(("mode", "image", "storageSize", "azureFlexible", "serviceAccount"))
    default = "azureFlexible" if production and azure else PostgresSettings.mode
    mode = s.string("mode", default, choices=POSTGRES_MODES) or default
    if mode == "azureFlexible" and not azure:
        s.fail("mode", mode, "inCluster with cluster.mode kubeconfig (no Azure)")
    flexible = None
    if mode == "azureFlexible":
        for key in ("image", "storageSize"):
            if s.has(key):
                s.fail(key, s.data[key], "only for postgres.mode inCluster")
        flexible = parse_flexible(s.section("azureFlexible"), location)
    elif s.has("azureFlexible"):
        s.fail("azureFlexible", "(set)", "only for postgres.mode azureFlexible")
    account = k8s_object_name(s, "serviceAccount", PostgresSettings.service_account)
    if account == "default":
        s.fail(
            "serviceAccount",
            account,
            "a ServiceAccount of the database's own (the program creates it; 'default' is the "
            "namespace's own account)",
        )
    return PostgresSettings(
        mode=mode,
        service_account=account,
        image=image(s, "image", PostgresSettings.image),
        storage_size=quantity(s, "storageSize", PostgresSettings.storage_size, kind="bytes"),
        flexible=flexible,
    )


def parse_flexible(f: Section, location: str) -> FlexibleServerSettings:
    f.reject_unknown(
        (
            "version",
            "sku",
            "tier",
            "highAvailability",
            "backupRetentionDays",
            "geoRedundantBackup",
            "storageSizeGB",
        )
    )
    d = FlexibleServerSettings
    version = f.data.get("version", d.version)
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)  # `--path postgres.azureFlexible.version 16` stores a number
    if version not in FLEXIBLE_VERSIONS:
        f.fail("version", version, f"a pinned major version, one of {list(FLEXIBLE_VERSIONS)}")
    tier = f.string("tier", d.tier, choices=FLEXIBLE_TIERS) or d.tier
    sku = f.string("sku", d.sku) or d.sku
    if not sku.startswith("Standard_"):
        f.fail("sku", sku, "an Azure compute SKU name such as Standard_D4ds_v5")
    # Zone-redundant HA by default wherever the region and tier can have it; asked for where
    # they cannot, refused.
    can_ha = location not in REGIONS_WITHOUT_ZONES and tier != "Burstable"
    ha = f.boolean("highAvailability", can_ha)
    if ha and tier == "Burstable":
        f.fail(
            "highAvailability",
            True,
            "zone-redundant HA needs the GeneralPurpose or MemoryOptimized tier, not Burstable",
        )
    # The known list shared with the cluster and Vault; Azure refuses the rest at deploy time.
    if ha and location in REGIONS_WITHOUT_ZONES:
        f.fail(
            "highAvailability",
            True,
            f"region {location} has no availability zones, so no zone-redundant HA: pick a "
            "region with zones or turn highAvailability off",
        )
    return FlexibleServerSettings(
        version=str(version),
        sku=sku,
        tier=tier,
        high_availability=ha,
        backup_retention_days=f.integer(
            "backupRetentionDays", d.backup_retention_days, minimum=7, maximum=35
        ),
        geo_redundant_backup=f.boolean("geoRedundantBackup", d.geo_redundant_backup),
        storage_size_gb=f.integer("storageSizeGB", d.storage_size_gb, minimum=32, maximum=32768),
    )
