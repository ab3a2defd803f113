"""The pack's policies, in the order it reports them: names, descriptions, enforcement levels
and config schemas are what users and `policy/production.json` rely on."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from .aidbox import (
    AIDBOX_DEV_MODE_ENV,
    validate_aidbox_no_dev_mode,
    validate_aidbox_public_url,
    validate_aidbox_shared_keys,
)
from .azure.aks import (
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
from .azure.roles import validate_role_assignment
from .common import ENVIRONMENT_LABEL
from .kubernetes.csi import CSI_DRIVER, validate_csi_volumes_read_only, validate_rotation_interval
from .kubernetes.images import validate_registry_images
from .kubernetes.namespaces import validate_namespace_pod_security
from .kubernetes.workloads import (
    FLOATING_TAGS,
    NON_SECRET_ENV_NAMES,
    validate_image_pinned,
    validate_no_literal_secret_env,
    validate_non_root,
    validate_resources,
)
from .outputs import validate_no_credential_outputs
from .stores.vault import (
    SNAPSHOT_COMMAND,
    validate_vault_dev_mode,
    validate_vault_ha_snapshots,
    validate_vault_https,
    validate_vault_no_load_balancer,
)

PRODUCTION_CONFIG = PolicyConfigSchema(
    properties={
        "production": {
            "type": "boolean",
            "default": False,
            "description": (
                "Treat every resource as production. Also production without this: an Azure "
                "tag environment=production, a Kubernetes label "
                f"{ENVIRONMENT_LABEL}=production, or the stack tag environment=production."
            ),
        }
    }
)

REGISTRY_CONFIG = PolicyConfigSchema(
    properties={
        **PRODUCTION_CONFIG.properties,
        "allowedRegistries": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": (
                "Registry hosts (or host/path prefixes) production pods may pull from; empty: "
                "any Azure Container Registry (<name>.azurecr.io)."
            ),
        },
    }
)

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy(
        name="keyvault-rbac-soft-delete",
        description=(
            "Key Vaults use Azure RBAC (properties.enableRbacAuthorization: true) and keep "
            "soft delete on (properties.enableSoftDelete not false)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_key_vault_rbac_soft_delete,
    ),
    ResourceValidationPolicy(
        name="keyvault-purge-protection-production",
        description=(
            "On production (policy config production: true, or the vault tagged "
            "environment=production, or the stack tagged environment=production), Key Vaults "
            "have properties.enablePurgeProtection: true."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_key_vault_purge_protection,
    ),
    ResourceValidationPolicy(
        name="keyvault-role-least-privilege",
        description=(
            "Role assignments: a workload assignment (principalType ServicePrincipal, which "
            "includes managed identities) grants only 'Key Vault Secrets User' or 'Key Vault "
            "Crypto Service Encryption User' (an ha Vault's auto-unseal); 'Key Vault "
            "Secrets Officer' is only for the deployer's grant (a user, or in CI a service "
            "principal, with description 'deployer: ...' or 'aidbox-secrets: deployer'); and "
            "every Secrets "
            "User, Secrets Officer or Crypto Service Encryption User assignment is scoped to "
            "exactly one vault "
            "(/subscriptions/*/resourceGroups/*/providers/Microsoft.KeyVault/vaults/<name>, "
            "nothing broader), or a Secrets User assignment to one secret of one vault "
            "(<vault>/secrets/<name>); no other sub-path."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_role_assignment,
    ),
    ResourceValidationPolicy(
        name="csi-secret-volume-read-only",
        description=(
            f"Volumes of the {CSI_DRIVER} driver have csi.readOnly: true, and every container "
            "mount of them is readOnly: true with no subPath/subPathExpr (a subPath mount never "
            "sees rotated secrets)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_csi_volumes_read_only,
    ),
    ResourceValidationPolicy(
        name="no-literal-secret-env",
        description=(
            "Container env vars whose name contains PASSWORD, SECRET, LICENSE or TOKEN "
            "(any case) take their value from valueFrom.secretKeyRef, never a literal value. "
            "Exempt by exact name: " + ", ".join(sorted(NON_SECRET_ENV_NAMES)) + "."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_no_literal_secret_env,
    ),
    ResourceValidationPolicy(
        name="vault-no-dev-mode-production",
        description=(
            "On production (policy config production: true, or the stack tagged "
            "environment=production), the HashiCorp Vault Helm chart does not run in dev mode "
            "(values.server.dev.enabled)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_vault_dev_mode,
    ),
    ResourceValidationPolicy(
        name="vault-no-load-balancer",
        description=(
            "Vault's API has no public endpoint: no Service of type LoadBalancer selects Vault's "
            "pods (app.kubernetes.io/name=vault), and the Vault chart's server.service.type and "
            "ui.serviceType are not LoadBalancer."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_vault_no_load_balancer,
    ),
    ResourceValidationPolicy(
        name="vault-https-production",
        description=(
            "On production, Vault is reached over https: the Vault chart's "
            "values.global.externalVaultAddr and a SecretProviderClass of provider vault's "
            "spec.parameters.vaultAddress do not start with http://."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_vault_https,
    ),
    StackValidationPolicy(
        name="vault-ha-snapshots-production",
        description=(
            "On production, a Vault chart with values.server.ha.enabled comes with a CronJob "
            f"that runs `vault {SNAPSHOT_COMMAND}` (an HA Vault's only backup)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_vault_ha_snapshots,
    ),
    ResourceValidationPolicy(
        name="container-non-root",
        description=(
            "Every container and init container runs as non-root: runAsNonRoot: true or a "
            "non-zero runAsUser, in its own securityContext or else the pod's; runAsUser 0 "
            "is refused."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_non_root,
    ),
    ResourceValidationPolicy(
        name="container-resources",
        description=(
            "Every container and init container sets resources.requests and resources.limits "
            "for both cpu and memory."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_resources,
    ),
    ResourceValidationPolicy(
        name="container-image-pinned",
        description=(
            "Every container image has a digest or a fixed tag: no tag (which means latest) "
            "and the floating tags " + ", ".join(sorted(FLOATING_TAGS)) + " are refused."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_image_pinned,
    ),
    ResourceValidationPolicy(
        name="aidbox-shared-keys-production",
        description=(
            "On production, a Deployment running an Aidbox image (healthsamurai/aidboxone, "
            "aidbox or multibox) with more than one replica, or with the count left to an "
            "autoscaler, sets BOX_SECURITY_AUTH_KEYS_PRIVATE and BOX_SECURITY_AUTH_KEYS_SECRET "
            "from a Secret (valueFrom.secretKeyRef) or exports them in its `sh -c` command (the "
            "program's start script, from the secret store's mounted files): otherwise tokens "
            "issued by one pod are refused by the others."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aidbox_shared_keys,
    ),
    ResourceValidationPolicy(
        name="aidbox-no-dev-mode-production",
        description=(
            "On production, a workload running an Aidbox image sets none of Aidbox's "
            "development switches (" + ", ".join(AIDBOX_DEV_MODE_ENV) + ") to anything but "
            "the literal value 'false' (not from valueFrom, which cannot be checked)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aidbox_no_dev_mode,
    ),
    ResourceValidationPolicy(
        name="aidbox-public-url-production",
        description=(
            "On production, a workload running an Aidbox image sets BOX_WEB_BASE_URL (or its "
            "deprecated AIDBOX_BASE_URL) to a literal https URL whose host is a DNS name "
            "outside the cluster (not *.svc, *.cluster.local, localhost or an IP address): "
            "Aidbox puts it into tokens, links and redirects."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aidbox_public_url,
    ),
    ResourceValidationPolicy(
        name="secret-rotation-interval",
        description=(
            "Secrets Store CSI driver rotation is on and polls at most every 5 minutes "
            "(secrets-store-csi-driver chart values, the Azure provider chart's driver "
            "subchart, or the AKS azureKeyvaultSecretsProvider add-on config)."
        ),
        enforcement_level=EnforcementLevel.ADVISORY,
        validate=validate_rotation_interval,
    ),
    ResourceValidationPolicy(
        name="aks-local-accounts-disabled-production",
        description=(
            "On production, AKS clusters set disableLocalAccounts: true (no static "
            "cluster-admin credential; Entra ID only)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_local_accounts,
    ),
    ResourceValidationPolicy(
        name="aks-entra-rbac-production",
        description=(
            "On production, AKS clusters use managed Entra ID integration with Azure RBAC for "
            "Kubernetes authorization (aadProfile.managed and aadProfile.enableAzureRBAC true)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_entra_rbac,
    ),
    ResourceValidationPolicy(
        name="aks-network-policy-production",
        description=(
            "On production, AKS clusters run a network policy engine "
            "(networkProfile.networkPolicy cilium, calico or azure)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_network_policy,
    ),
    ResourceValidationPolicy(
        name="aks-availability-zones-production",
        description=(
            "On production, every AKS node pool (agentPoolProfiles and AgentPool resources) "
            "spans at least two availability zones."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_zones,
    ),
    ResourceValidationPolicy(
        name="aks-kubernetes-version-production",
        description=(
            "On production, AKS clusters pin a Kubernetes minor from the AKS release calendar "
            "(components/aks_versions.py) with at least 90 days of AKS support left."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_kubernetes_version,
    ),
    ResourceValidationPolicy(
        name="aks-admission-production",
        description=(
            "On production, AKS clusters run the Azure Policy add-on "
            "(addonProfiles.azurepolicy.enabled), Defender for Containers "
            "(securityProfile.defender.securityMonitoring.enabled), the image cleaner and "
            "workload identity (securityProfile.imageCleaner/workloadIdentity.enabled), and "
            "have Run Command off (apiServerAccessProfile.disableRunCommand)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_admission,
    ),
    ResourceValidationPolicy(
        name="container-registry-production",
        description=(
            "On production, container registries are Premium, with no admin user, no anonymous "
            "pull and publicNetworkAccess Disabled (pulled through a private endpoint)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_container_registry,
    ),
    ResourceValidationPolicy(
        name="registry-images-production",
        description=(
            "On production, every container image, and every image the vendored charts run "
            "(their values' image repositories), comes from a registry you own: any "
            "<name>.azurecr.io, or the policy config's allowedRegistries."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=REGISTRY_CONFIG,
        validate=validate_registry_images,
    ),
    ResourceValidationPolicy(
        name="namespace-pod-security",
        description=(
            "Every Namespace the program creates carries a Pod Security Admission "
            "enforce label (pod-security.kubernetes.io/enforce); anything weaker than "
            "restricted states its reason (annotation aidbox-secrets/pod-security-reason)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_namespace_pod_security,
    ),
    ResourceValidationPolicy(
        name="keyvault-network-deny-production",
        description=(
            "On production, Key Vaults deny network access by default "
            "(properties.networkAcls.defaultAction: Deny) and no IP rule opens 0.0.0.0/0."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_key_vault_network,
    ),
    StackValidationPolicy(
        name="aks-egress-filtered-production",
        description=(
            "On production, an AKS cluster's egress is filtered: networkProfile.outboundType "
            "userDefinedRouting (a firewall), or else the stack's NetworkPolicies deny egress by "
            "default and open it to no range wider than a /16 (and never to every destination)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_aks_egress_filtered,
    ),
    StackValidationPolicy(
        name="azure-delete-locks-production",
        description=(
            "On production, every AKS cluster, Key Vault, PostgreSQL flexible server and storage "
            "account (an ha Vault's snapshots) has a CanNotDelete (or ReadOnly) management lock "
            "whose scope is that resource."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PRODUCTION_CONFIG,
        validate=validate_delete_locks,
    ),
    StackValidationPolicy(
        name="no-credential-stack-output",
        description=(
            "No stack output looks like a credential: by name (kubeconfig, password, token, "
            "credential, private key, connection string, ...) or by value (client key or "
            "certificate data, a token, a PEM private key, a storage key or SAS)."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_no_credential_outputs,
    ),
]
RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
