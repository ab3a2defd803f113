"""Stack config -> one frozen, typed Settings object, one module per config section.
All validation and defaults live here; a bad value stops the run before any resource exists."""

from .aidbox import AidboxSettings, Autoscaling, Tls
from .azure import AzureSettings, KeyVaultSettings
from .cluster import (
    ClusterSettings,
    ExistingAks,
    KubeconfigSource,
    MaintenanceWindow,
    PoolSettings,
)
from .csi import CsiSettings
from .load import load_settings
from .monitoring import MonitoringSettings
from .network import NetworkSettings
from .postgres import FlexibleServerSettings, PostgresSettings
from .reader import Sensitive, SettingsError
from .registry import RegistrySettings
from .secrets import Scope, SecretSpec, SyncedSecret
from .stack import Settings, parse_settings
from .vault import VaultSettings

__all__ = [
    "AidboxSettings",
    "Autoscaling",
    "AzureSettings",
    "ClusterSettings",
    "CsiSettings",
    "ExistingAks",
    "FlexibleServerSettings",
    "KeyVaultSettings",
    "KubeconfigSource",
    "MaintenanceWindow",
    "MonitoringSettings",
    "NetworkSettings",
    "PoolSettings",
    "PostgresSettings",
    "RegistrySettings",
    "Scope",
    "SecretSpec",
    "Sensitive",
    "Settings",
    "SettingsError",
    "SyncedSecret",
    "Tls",
    "VaultSettings",
    "load_settings",
    "parse_settings",
]
