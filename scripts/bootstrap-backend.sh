#!/usr/bin/env bash
# Bootstrap a self-managed Pulumi backend in Azure for aidbox-secrets CI/CD:
#   * a storage account + blob container for `azblob://` state (Entra ID only:
#     shared keys and anonymous access off, TLS 1.2, blob versioning and soft delete);
#   * a Key Vault (RBAC mode, purge protection) + RSA key for `azurekeyvault://` stack secrets;
#   * a CI identity that GitHub Actions signs in as through OpenID Connect federation
#     (no client secret anywhere), with the least roles the workflows need;
# then prints the repository variables to set with `gh variable set`.
#
# Idempotent: every step checks what exists and only creates what is missing, so it is
# safe to re-run (for example after changing the repository or adding a role).
# Needs: Azure CLI (`az login` as someone who may create resources and role assignments
# in the subscription, e.g. Owner, or Contributor + Role Based Access Control Administrator;
# the app-registration identity type also needs rights to create Entra ID applications).
#
# Usage: scripts/bootstrap-backend.sh --github-repo ORG/REPO [options]
# Run with --help for the options; each also reads the environment variable shown there.
set -euo pipefail

# Built-in Azure role definition IDs (same in every tenant).
readonly ROLE_CONTRIBUTOR="b24988ac-6180-42a0-ab88-20f7382dd24c"
readonly ROLE_RBAC_ADMINISTRATOR="f58310d9-a9f6-439a-9e8d-f62e7b41a168"
readonly ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR="ba92f5b4-2d11-453d-a403-e96b0029c9fe"
readonly ROLE_KEY_VAULT_CRYPTO_USER="12338af0-0e69-4776-bea7-57ae8d297424"
readonly ROLE_KEY_VAULT_CRYPTO_OFFICER="14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
readonly ROLE_KEY_VAULT_SECRETS_USER="4633458b-17de-408a-b874-0445c86b69e6"
readonly ROLE_KEY_VAULT_SECRETS_OFFICER="b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
readonly ROLE_AKS_RBAC_CLUSTER_ADMIN="b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"

readonly GITHUB_OIDC_ISSUER="https://token.actions.githubusercontent.com"
readonly FEDERATION_AUDIENCE="api://AzureADTokenExchange"

LOCATION="${LOCATION:-westeurope}"
SUBSCRIPTION_ID="${AZURE_SUBSCRIPTION_ID:-}"
GITHUB_REPO="${GITHUB_REPO:-}"
STATE_RESOURCE_GROUP="${STATE_RESOURCE_GROUP:-rg-aidbox-secrets-pulumi}"
STATE_STORAGE_ACCOUNT="${STATE_STORAGE_ACCOUNT:-}"
STATE_STORAGE_SKU="${STATE_STORAGE_SKU:-Standard_ZRS}"
STATE_CONTAINER="${STATE_CONTAINER:-pulumi-state}"
STATE_RETENTION_DAYS="${STATE_RETENTION_DAYS:-30}"
SECRETS_KEY_VAULT="${SECRETS_KEY_VAULT:-}"
SECRETS_KEY_NAME="${SECRETS_KEY_NAME:-pulumi-stack-secrets}"
CI_IDENTITY_TYPE="${CI_IDENTITY_TYPE:-managed-identity}"
CI_IDENTITY_NAME="${CI_IDENTITY_NAME:-id-aidbox-secrets-github}"
PROD_ENVIRONMENT="${PROD_ENVIRONMENT:-prod}"
DEPLOY_SCOPE="${DEPLOY_SCOPE:-}"
# The program grants Key Vault Secrets User to the CSI reader identity, Azure Kubernetes
# Service RBAC Cluster Admin to the deployer (here: the CI identity itself) on the stack's
# resource group, so its Kubernetes provider may manage the cluster, and Key Vault Secrets
# Officer to the deployer only where a stack sets aidbox-secrets:keyVault.deployerOfficer
# (off by default): add $ROLE_KEY_VAULT_SECRETS_OFFICER here for such stacks.
ASSIGNABLE_ROLE_IDS="${ASSIGNABLE_ROLE_IDS:-$ROLE_KEY_VAULT_SECRETS_USER,$ROLE_AKS_RBAC_CLUSTER_ADMIN}"

usage() {
  cat <<EOF
Usage: $0 --github-repo ORG/REPO [options]

  --github-repo ORG/REPO     GitHub repository trusted by the CI identity  [GITHUB_REPO]
                             (default: derived from the git remote "origin")
  --subscription ID          Azure subscription  [AZURE_SUBSCRIPTION_ID] (default: az's current)
  --location NAME            Azure region  [LOCATION] (default: $LOCATION)
  --resource-group NAME      resource group for state, key and identity  [STATE_RESOURCE_GROUP]
                             (default: $STATE_RESOURCE_GROUP)
  --storage-account NAME     state storage account, 3-24 lowercase letters/digits, globally
                             unique  [STATE_STORAGE_ACCOUNT] (default: stpulumi<6 hex of sub+repo>)
  --storage-sku SKU          [STATE_STORAGE_SKU] (default: $STATE_STORAGE_SKU; use Standard_LRS
                             in regions without zones)
  --container NAME           blob container holding the state  [STATE_CONTAINER]
                             (default: $STATE_CONTAINER)
  --retention-days N         blob/container soft-delete days  [STATE_RETENTION_DAYS] (default: 30)
  --key-vault NAME           Key Vault for the stack secrets key, 3-24 chars, letters/digits/
                             hyphens, starts with a letter  [SECRETS_KEY_VAULT]
                             (default: kv-pulumi-<6 hex of sub+repo>)
  --key-name NAME            Key Vault key name  [SECRETS_KEY_NAME] (default: $SECRETS_KEY_NAME)
  --identity-type TYPE       managed-identity | app-registration  [CI_IDENTITY_TYPE]
                             (default: $CI_IDENTITY_TYPE)
  --identity-name NAME       CI identity name  [CI_IDENTITY_NAME] (default: $CI_IDENTITY_NAME)
  --prod-environment NAME    GitHub environment guarding prod  [PROD_ENVIRONMENT] (default: prod)
  --deploy-scope SCOPE       scope where the stacks create resources and role assignments
                             [DEPLOY_SCOPE] (default: /subscriptions/<subscription>)
  --assignable-roles GUIDS   comma-separated role definition GUIDs the CI identity may assign
                             within the deploy scope  [ASSIGNABLE_ROLE_IDS]
                             (default: Key Vault Secrets User and AKS RBAC Cluster Admin;
                             add Key Vault Secrets Officer,
                             $ROLE_KEY_VAULT_SECRETS_OFFICER, for stacks that set
                             keyVault.deployerOfficer)
  -h, --help                 this help
EOF
}

die() {
  echo "error: $*" >&2
  exit 1
}

log() {
  echo "==> $*" >&2
}

while (($# > 0)); do
  case "$1" in
    --github-repo) GITHUB_REPO="${2:?}"; shift 2 ;;
    --subscription) SUBSCRIPTION_ID="${2:?}"; shift 2 ;;
    --location) LOCATION="${2:?}"; shift 2 ;;
    --resource-group) STATE_RESOURCE_GROUP="${2:?}"; shift 2 ;;
    --storage-account) STATE_STORAGE_ACCOUNT="${2:?}"; shift 2 ;;
    --storage-sku) STATE_STORAGE_SKU="${2:?}"; shift 2 ;;
    --container) STATE_CONTAINER="${2:?}"; shift 2 ;;
    --retention-days) STATE_RETENTION_DAYS="${2:?}"; shift 2 ;;
    --key-vault) SECRETS_KEY_VAULT="${2:?}"; shift 2 ;;
    --key-name) SECRETS_KEY_NAME="${2:?}"; shift 2 ;;
    --identity-type) CI_IDENTITY_TYPE="${2:?}"; shift 2 ;;
    --identity-name) CI_IDENTITY_NAME="${2:?}"; shift 2 ;;
    --prod-environment) PROD_ENVIRONMENT="${2:?}"; shift 2 ;;
    --deploy-scope) DEPLOY_SCOPE="${2:?}"; shift 2 ;;
    --assignable-roles) ASSIGNABLE_ROLE_IDS="${2:?}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# Run a command up to 10 times, 20 s apart: new identities and role assignments take
# a while to replicate in Entra ID / Azure RBAC.
retry() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if "$@"; then
      return 0
    fi
    log "attempt $attempt failed; retrying in 20 s"
    sleep 20
  done
  return 1
}

short_hash() {
  if command -v sha256sum >/dev/null 2>&1; then
    printf '%s' "$1" | sha256sum | cut -c1-6
  else
    printf '%s' "$1" | shasum -a 256 | cut -c1-6
  fi
}

# ensure_role PRINCIPAL_OBJECT_ID PRINCIPAL_TYPE ROLE_ID SCOPE [CONDITION]
ensure_role() {
  local principal="$1" principal_type="$2" role="$3" scope="$4" condition="${5:-}"
  local existing
  existing="$(az role assignment list --scope "$scope" --role "$role" \
    --query "[?principalId=='$principal'] | length(@)" --output tsv)"
  if [[ "$existing" != "0" ]]; then
    log "role $role already assigned at $scope"
    return 0
  fi
  log "assigning role $role at $scope"
  local args=(role assignment create --assignee-object-id "$principal"
    --assignee-principal-type "$principal_type" --role "$role" --scope "$scope" --output none)
  if [[ -n "$condition" ]]; then
    args+=(--condition "$condition" --condition-version "2.0")
  fi
  retry az "${args[@]}"
}

ensure_federated_credential_mi() {
  local name="$1" subject="$2"
  if az identity federated-credential show --name "$name" --identity-name "$CI_IDENTITY_NAME" \
    --resource-group "$STATE_RESOURCE_GROUP" --output none 2>/dev/null; then
    log "federated credential $name exists"
    return 0
  fi
  log "federated credential $name -> $subject"
  az identity federated-credential create --name "$name" --identity-name "$CI_IDENTITY_NAME" \
    --resource-group "$STATE_RESOURCE_GROUP" --issuer "$GITHUB_OIDC_ISSUER" \
    --subject "$subject" --audiences "$FEDERATION_AUDIENCE" --output none
}

ensure_federated_credential_app() {
  local app_id="$1" name="$2" subject="$3" existing
  existing="$(az ad app federated-credential list --id "$app_id" \
    --query "[?name=='$name'] | length(@)" --output tsv)"
  if [[ "$existing" != "0" ]]; then
    log "federated credential $name exists"
    return 0
  fi
  log "federated credential $name -> $subject"
  retry az ad app federated-credential create --id "$app_id" --output none --parameters \
    "{\"name\":\"$name\",\"issuer\":\"$GITHUB_OIDC_ISSUER\",\"subject\":\"$subject\",\"audiences\":[\"$FEDERATION_AUDIENCE\"]}"
}

# --- inputs -------------------------------------------------------------------------------

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is required"
az account show --output none 2>/dev/null || die "run 'az login' first"

if [[ -z "$GITHUB_REPO" ]]; then
  remote="$(git config --get remote.origin.url 2>/dev/null || true)"
  GITHUB_REPO="$(printf '%s' "$remote" | sed -E 's#^(git@github\.com:|https://github\.com/)##; s#\.git$##')"
  [[ "$GITHUB_REPO" != "$remote" ]] || GITHUB_REPO=""
fi
[[ "$GITHUB_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] ||
  die "--github-repo ORG/REPO is required (got '${GITHUB_REPO}')"
[[ "$CI_IDENTITY_TYPE" == "managed-identity" || "$CI_IDENTITY_TYPE" == "app-registration" ]] ||
  die "--identity-type must be managed-identity or app-registration"

if [[ -n "$SUBSCRIPTION_ID" ]]; then
  az account set --subscription "$SUBSCRIPTION_ID"
fi
SUBSCRIPTION_ID="$(az account show --query id --output tsv)"
TENANT_ID="$(az account show --query tenantId --output tsv)"
DEPLOY_SCOPE="${DEPLOY_SCOPE:-/subscriptions/$SUBSCRIPTION_ID}"

suffix="$(short_hash "$SUBSCRIPTION_ID/$GITHUB_REPO")"
STATE_STORAGE_ACCOUNT="${STATE_STORAGE_ACCOUNT:-stpulumi$suffix}"
SECRETS_KEY_VAULT="${SECRETS_KEY_VAULT:-kv-pulumi-$suffix}"

[[ "$STATE_STORAGE_ACCOUNT" =~ ^[a-z0-9]{3,24}$ ]] ||
  die "storage account name must be 3-24 lowercase letters and digits: $STATE_STORAGE_ACCOUNT"
[[ "$SECRETS_KEY_VAULT" =~ ^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$ && "$SECRETS_KEY_VAULT" != *--* ]] ||
  die "Key Vault name must be 3-24 letters, digits and single hyphens, start with a letter and end with a letter or digit: $SECRETS_KEY_VAULT"
[[ "$STATE_CONTAINER" =~ ^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$ ]] ||
  die "container name must be 3-63 lowercase letters, digits and single hyphens: $STATE_CONTAINER"

role_set="$(printf '%s' "$ASSIGNABLE_ROLE_IDS" | tr -d ' ' | tr '[:upper:]' '[:lower:]' | sed 's/,/, /g')"
[[ "$role_set" =~ ^[0-9a-f-]{36}(,\ [0-9a-f-]{36})*$ ]] ||
  die "--assignable-roles must be comma-separated role definition GUIDs: $ASSIGNABLE_ROLE_IDS"

log "subscription $SUBSCRIPTION_ID (tenant $TENANT_ID), repository $GITHUB_REPO"

# --- resource providers and resource group ------------------------------------------------

for namespace in Microsoft.Storage Microsoft.KeyVault Microsoft.ManagedIdentity \
  Microsoft.ContainerService Microsoft.Network Microsoft.OperationalInsights Microsoft.Insights \
  Microsoft.Monitor; do
  az provider register --namespace "$namespace" --wait --output none
done

az group create --name "$STATE_RESOURCE_GROUP" --location "$LOCATION" --output none

# --- state storage ------------------------------------------------------------------------

if az storage account show --name "$STATE_STORAGE_ACCOUNT" --resource-group "$STATE_RESOURCE_GROUP" \
  --output none 2>/dev/null; then
  log "storage account $STATE_STORAGE_ACCOUNT exists"
else
  available="$(az storage account check-name --name "$STATE_STORAGE_ACCOUNT" \
    --query nameAvailable --output tsv)"
  [[ "$available" == "true" ]] ||
    die "storage account name $STATE_STORAGE_ACCOUNT is taken; pass --storage-account"
  log "creating storage account $STATE_STORAGE_ACCOUNT"
  az storage account create --name "$STATE_STORAGE_ACCOUNT" \
    --resource-group "$STATE_RESOURCE_GROUP" --location "$LOCATION" \
    --kind StorageV2 --sku "$STATE_STORAGE_SKU" --access-tier Hot \
    --min-tls-version TLS1_2 --https-only true \
    --allow-blob-public-access false --allow-shared-key-access false \
    --allow-cross-tenant-replication false --output none
fi
# Re-assert the security settings on every run (someone may have loosened them).
az storage account update --name "$STATE_STORAGE_ACCOUNT" --resource-group "$STATE_RESOURCE_GROUP" \
  --min-tls-version TLS1_2 --https-only true \
  --allow-blob-public-access false --allow-shared-key-access false --output none
# State history: every write keeps the previous version; deletes are recoverable.
az storage account blob-service-properties update --account-name "$STATE_STORAGE_ACCOUNT" \
  --resource-group "$STATE_RESOURCE_GROUP" --enable-versioning true \
  --enable-delete-retention true --delete-retention-days "$STATE_RETENTION_DAYS" \
  --enable-container-delete-retention true --container-delete-retention-days "$STATE_RETENTION_DAYS" \
  --output none
# container-rm goes through Azure Resource Manager, so it works with shared keys disabled
# and without a data-plane role for whoever runs this script.
if az storage container-rm show --storage-account "$STATE_STORAGE_ACCOUNT" \
  --resource-group "$STATE_RESOURCE_GROUP" --name "$STATE_CONTAINER" --output none 2>/dev/null; then
  log "container $STATE_CONTAINER exists"
else
  log "creating container $STATE_CONTAINER"
  az storage container-rm create --storage-account "$STATE_STORAGE_ACCOUNT" \
    --resource-group "$STATE_RESOURCE_GROUP" --name "$STATE_CONTAINER" --public-access off \
    --output none
fi
storage_id="$(az storage account show --name "$STATE_STORAGE_ACCOUNT" \
  --resource-group "$STATE_RESOURCE_GROUP" --query id --output tsv)"
container_scope="$storage_id/blobServices/default/containers/$STATE_CONTAINER"
# Guard the account holding the state against deletion (a management lock does not
# affect reading or writing blobs).
az lock create --name pulumi-state-do-not-delete --lock-type CanNotDelete \
  --resource-group "$STATE_RESOURCE_GROUP" --resource-name "$STATE_STORAGE_ACCOUNT" \
  --resource-type Microsoft.Storage/storageAccounts \
  --notes "Pulumi state for $GITHUB_REPO" --output none

# --- Key Vault and key for stack secrets ---------------------------------------------------

if az keyvault show --name "$SECRETS_KEY_VAULT" --resource-group "$STATE_RESOURCE_GROUP" \
  --output none 2>/dev/null; then
  log "Key Vault $SECRETS_KEY_VAULT exists"
elif [[ -n "$(az keyvault list-deleted --resource-type vault \
  --query "[?name=='$SECRETS_KEY_VAULT'].name" --output tsv)" ]]; then
  log "recovering soft-deleted Key Vault $SECRETS_KEY_VAULT"
  az keyvault recover --name "$SECRETS_KEY_VAULT" --resource-group "$STATE_RESOURCE_GROUP" \
    --location "$LOCATION" --output none
else
  log "creating Key Vault $SECRETS_KEY_VAULT (RBAC authorization, purge protection)"
  az keyvault create --name "$SECRETS_KEY_VAULT" --resource-group "$STATE_RESOURCE_GROUP" \
    --location "$LOCATION" --enable-rbac-authorization true \
    --enable-purge-protection true --retention-days 90 --output none
fi
rbac_mode="$(az keyvault show --name "$SECRETS_KEY_VAULT" \
  --query properties.enableRbacAuthorization --output tsv)"
[[ "$rbac_mode" == "true" ]] ||
  die "Key Vault $SECRETS_KEY_VAULT uses access policies; this setup needs RBAC authorization"
vault_id="$(az keyvault show --name "$SECRETS_KEY_VAULT" --query id --output tsv)"

# Whoever runs this needs data-plane rights to create the key; Key Vault Crypto Officer on
# this vault also lets them run `pulumi stack init --secrets-provider ...` afterwards.
caller_type="$(az account show --query user.type --output tsv)"
if [[ "$caller_type" == "servicePrincipal" ]]; then
  caller_id="$(az ad sp show --id "$(az account show --query user.name --output tsv)" \
    --query id --output tsv)"
  caller_principal_type="ServicePrincipal"
else
  caller_id="$(az ad signed-in-user show --query id --output tsv)"
  caller_principal_type="User"
fi
ensure_role "$caller_id" "$caller_principal_type" "$ROLE_KEY_VAULT_CRYPTO_OFFICER" "$vault_id"

if az keyvault key show --vault-name "$SECRETS_KEY_VAULT" --name "$SECRETS_KEY_NAME" \
  --output none 2>/dev/null; then
  log "key $SECRETS_KEY_NAME exists"
else
  log "creating key $SECRETS_KEY_NAME (waiting for the role assignment to propagate)"
  retry az keyvault key create --vault-name "$SECRETS_KEY_VAULT" --name "$SECRETS_KEY_NAME" \
    --kty RSA --size 3072 --ops encrypt decrypt --output none
fi
key_scope="$vault_id/keys/$SECRETS_KEY_NAME"

# --- CI identity with GitHub OIDC federation ----------------------------------------------

subjects=(
  "github-pull-request=repo:$GITHUB_REPO:pull_request"
  "github-main=repo:$GITHUB_REPO:ref:refs/heads/main"
  "github-env-$PROD_ENVIRONMENT=repo:$GITHUB_REPO:environment:$PROD_ENVIRONMENT"
)

if [[ "$CI_IDENTITY_TYPE" == "managed-identity" ]]; then
  if az identity show --name "$CI_IDENTITY_NAME" --resource-group "$STATE_RESOURCE_GROUP" \
    --output none 2>/dev/null; then
    log "managed identity $CI_IDENTITY_NAME exists"
  else
    log "creating user-assigned managed identity $CI_IDENTITY_NAME"
    az identity create --name "$CI_IDENTITY_NAME" --resource-group "$STATE_RESOURCE_GROUP" \
      --location "$LOCATION" --output none
  fi
  ci_client_id="$(az identity show --name "$CI_IDENTITY_NAME" \
    --resource-group "$STATE_RESOURCE_GROUP" --query clientId --output tsv)"
  ci_principal_id="$(az identity show --name "$CI_IDENTITY_NAME" \
    --resource-group "$STATE_RESOURCE_GROUP" --query principalId --output tsv)"
  # One at a time: a managed identity rejects concurrent federated credential writes.
  for entry in "${subjects[@]}"; do
    ensure_federated_credential_mi "${entry%%=*}" "${entry#*=}"
  done
else
  ci_client_id="$(az ad app list --display-name "$CI_IDENTITY_NAME" \
    --query "[0].appId" --output tsv)"
  if [[ -z "$ci_client_id" ]]; then
    log "creating app registration $CI_IDENTITY_NAME"
    ci_client_id="$(az ad app create --display-name "$CI_IDENTITY_NAME" \
      --sign-in-audience AzureADMyOrg --query appId --output tsv)"
  else
    log "app registration $CI_IDENTITY_NAME exists"
  fi
  if ! az ad sp show --id "$ci_client_id" --output none 2>/dev/null; then
    log "creating service principal for $ci_client_id"
    retry az ad sp create --id "$ci_client_id" --output none
  fi
  ci_principal_id="$(az ad sp show --id "$ci_client_id" --query id --output tsv)"
  for entry in "${subjects[@]}"; do
    ensure_federated_credential_app "$ci_client_id" "${entry%%=*}" "${entry#*=}"
  done
fi

# --- least roles for the CI identity ------------------------------------------------------

# State: read/write blobs in the state container only.
ensure_role "$ci_principal_id" ServicePrincipal "$ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR" "$container_scope"
# Stack secrets: encrypt/decrypt with this one key only.
ensure_role "$ci_principal_id" ServicePrincipal "$ROLE_KEY_VAULT_CRYPTO_USER" "$key_scope"
# The stacks themselves: create and update their resource groups, AKS, Key Vault, ...
ensure_role "$ci_principal_id" ServicePrincipal "$ROLE_CONTRIBUTOR" "$DEPLOY_SCOPE"
# The stacks assign Key Vault roles on the vaults they create, and AKS RBAC Cluster Admin to
# the CI identity on each stack's resource group: allow assigning and removing only the
# listed roles. An existing assignment is left as it is: to change the
# list later, delete that role assignment and re-run.
condition="((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {$role_set})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {$role_set}))"
ensure_role "$ci_principal_id" ServicePrincipal "$ROLE_RBAC_ADMINISTRATOR" "$DEPLOY_SCOPE" "$condition"

# --- what to do next ----------------------------------------------------------------------

secrets_provider="azurekeyvault://$SECRETS_KEY_VAULT.vault.azure.net/keys/$SECRETS_KEY_NAME"
cat <<EOF

Backend ready. Set the repository variables the workflows read (variables, not secrets:
none of these is a credential):

gh variable set AZURE_CLIENT_ID --repo $GITHUB_REPO --body $ci_client_id
gh variable set AZURE_TENANT_ID --repo $GITHUB_REPO --body $TENANT_ID
gh variable set AZURE_SUBSCRIPTION_ID --repo $GITHUB_REPO --body $SUBSCRIPTION_ID
gh variable set PULUMI_STATE_STORAGE_ACCOUNT --repo $GITHUB_REPO --body $STATE_STORAGE_ACCOUNT
gh variable set PULUMI_STATE_CONTAINER --repo $GITHUB_REPO --body $STATE_CONTAINER
gh variable set PULUMI_SECRETS_PROVIDER --repo $GITHUB_REPO --body $secrets_provider
# optional, runner label for dev-vault jobs (needs a fixed egress IP; default: self-hosted)
# gh variable set DEV_VAULT_RUNNER --repo $GITHUB_REPO --body <runner-label>
# optional, runner label for prod jobs: its fixed egress IP must be in prod's
# aidbox-secrets:cluster.apiServerAuthorizedRanges (default: self-hosted)
# gh variable set PROD_RUNNER --repo $GITHUB_REPO --body <runner-label>

Create the '$PROD_ENVIRONMENT' environment (then add required reviewers in Settings > Environments):

gh api --method PUT repos/$GITHUB_REPO/environments/$PROD_ENVIRONMENT

Log in to the backend and initialise each stack (see docs/ci-cd.md):

export AZURE_STORAGE_ACCOUNT=$STATE_STORAGE_ACCOUNT
pulumi login azblob://$STATE_CONTAINER
pulumi stack init dev --secrets-provider "$secrets_provider"
EOF
