"""Validators of the aidbox-secrets CrossGuard policy pack, one module per area of `components/`.

Every `validate_*` function has the signature pulumi-policy passes to a
`ResourceValidationPolicy`: `(args, report_violation)`. `common` reads `args.props` safely (some
may be unknown during a preview) and says what counts as production; `azure/`, `kubernetes/`,
`stores/`, `aidbox` and `outputs` hold the rules; `pack` lists them as `POLICIES`. Imports run
one way: `common` <- `azure/`, `kubernetes/` <- `stores/`, `aidbox` <- `pack` <- this file
(`outputs` needs only `common`).

This package only builds policy objects (`POLICIES`); it never starts the analyzer server, so
tests import it directly, through the names re-exported here. `__main__.py` is the pack's entry
point and must not be imported.
"""

from .aidbox import (
    AIDBOX_DEV_MODE_ENV,
    base_url_problem,
    is_aidbox_image,
    validate_aidbox_no_dev_mode,
    validate_aidbox_public_url,
    validate_aidbox_shared_keys,
)
from .azure.aks import (
    kubernetes_version_problem,
    validate_aks_admission,
    validate_aks_entra_rbac,
    validate_aks_kubernetes_version,
    validate_aks_local_accounts,
    validate_aks_network_policy,
    validate_aks_zones,
)
from .azure.egress import validate_aks_egress_filtered
from .azure.key_vault import (
    validate_key_vault_network,
    validate_key_vault_purge_protection,
    validate_key_vault_rbac_soft_delete,
)
from .azure.locks import validate_delete_locks
from .azure.registry import validate_container_registry
from .azure.roles import (
    ROLE_ACR_PULL,
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
    ROLE_KV_SECRETS_OFFICER,
    ROLE_KV_SECRETS_USER,
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR,
    role_guid,
    validate_role_assignment,
)
from .common import show
from .kubernetes.csi import (
    parse_go_duration,
    validate_csi_volumes_read_only,
    validate_rotation_interval,
)
from .kubernetes.images import validate_registry_images
from .kubernetes.namespaces import validate_namespace_pod_security
from .kubernetes.workloads import (
    image_pin_problem,
    validate_image_pinned,
    validate_no_literal_secret_env,
    validate_non_root,
    validate_resources,
)
from .outputs import STACK_TYPE, validate_no_credential_outputs
from .pack import POLICIES, PRODUCTION_CONFIG, RESOURCE_POLICIES
from .stores.vault import (
    validate_vault_dev_mode,
    validate_vault_ha_snapshots,
    validate_vault_https,
    validate_vault_no_load_balancer,
)

__all__ = [
    "AIDBOX_DEV_MODE_ENV",
    "POLICIES",
    "PRODUCTION_CONFIG",
    "RESOURCE_POLICIES",
    "ROLE_ACR_PULL",
    "ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER",
    "ROLE_KV_SECRETS_OFFICER",
    "ROLE_KV_SECRETS_USER",
    "ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR",
    "STACK_TYPE",
    "base_url_problem",
    "image_pin_problem",
    "is_aidbox_image",
    "kubernetes_version_problem",
    "parse_go_duration",
    "role_guid",
    "show",
    "validate_aidbox_no_dev_mode",
    "validate_aidbox_public_url",
    "validate_aidbox_shared_keys",
    "validate_aks_admission",
    "validate_aks_egress_filtered",
    "validate_aks_entra_rbac",
    "validate_aks_kubernetes_version",
    "validate_aks_local_accounts",
    "validate_aks_network_policy",
    "validate_aks_zones",
    "validate_container_registry",
    "validate_csi_volumes_read_only",
    "validate_delete_locks",
    "validate_image_pinned",
    "validate_key_vault_network",
    "validate_key_vault_purge_protection",
    "validate_key_vault_rbac_soft_delete",
    "validate_namespace_pod_security",
    "validate_no_credential_outputs",
    "validate_no_literal_secret_env",
    "validate_non_root",
    "validate_registry_images",
    "validate_resources",
    "validate_role_assignment",
    "validate_rotation_interval",
    "validate_vault_dev_mode",
    "validate_vault_ha_snapshots",
    "validate_vault_https",
    "validate_vault_no_load_balancer",
]
