#!/usr/bin/env bash
# Bootstrap what aidbox-secrets CI/CD needs in Azure (docs/ci-cd.md walks through it):
#   * state: a storage account (Entra ID only: shared keys and anonymous access off, TLS 1.2,
#     versioning, soft delete, a delete lock) with one container for non-production stacks and
#     one for production, for the `azblob://` backend;
#   * stack secrets: a Key Vault (RBAC, purge protection) with one RSA key for non-production
#     stacks and one for production, for the `azurekeyvault://` secrets provider;
#   * three CI identities, one per trust level, each federated to the GitHub OIDC subject of
#     its trigger only (no client secret anywhere):
#       preview  pull_request          reads non-production (preview only)
#       deploy   ref:refs/heads/main   deploys non-production
#       prod     environment:prod      the only one that changes production or reads its state
#   * the bootstrapping user (or --admin-group): what `pulumi login` and `stack init` need;
# then prints the repository variables to set with `gh variable set`.
#
# Non-production and production stacks deploy into separate subscriptions (--subscription,
# --prod-subscription), so no identity below `prod` has any right over production. The state
# account and Key Vault live in the production subscription, where only `prod` has control-
# plane rights. One subscription for both is refused unless --single-subscription says so.
#
# Idempotent: each step checks what exists and creates only what is missing.
# Needs: Azure CLI, Python 3 (reads the role list from components/azure/roles.py), `az login`
# as someone who may create resources, role assignments and a custom role in both
# subscriptions (Owner, or Contributor + User Access Administrator; app registrations also
# need the right to create Entra ID applications).
#
# Usage: scripts/bootstrap-backend.sh --github-repo ORG/REPO --prod-subscription ID [options]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Built-in Azure role definition IDs (the same in every tenant).
readonly ROLE_READER="acdd72a7-3385-48ef-bd42-f606fba81ae7"
readonly ROLE_CONTRIBUTOR="b24988ac-6180-42a0-ab88-20f7382dd24c"
readonly ROLE_RBAC_ADMINISTRATOR="f58310d9-a9f6-439a-9e8d-f62e7b41a168"
readonly ROLE_STORAGE_BLOB_DATA_READER="2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
readonly ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR="ba92f5b4-2d11-453d-a403-e96b0029c9fe"
readonly ROLE_KEY_VAULT_CRYPTO_USER="12338af0-0e69-4776-bea7-57ae8d297424"
readonly ROLE_KEY_VAULT_CRYPTO_OFFICER="14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
readonly ROLE_AKS_CLUSTER_USER="4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
readonly ROLE_AKS_RBAC_READER="7f6c6a51-bcf8-42ba-9220-52d62157d7db"
readonly ROLE_AKS_RBAC_CLUSTER_ADMIN="b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
readonly ROLE_RESOURCE_POLICY_CONTRIBUTOR="36243c78-bf99-498c-9df9-86d9f8d28608"
# A custom role (no built-in one is this narrow): the deploying identities create the delete
# locks the program puts on the state of record (`locks`, on by default on production), and may
# not remove one. Lifting a lock is a deliberate act of an Owner
# (docs/operations.md, "Delete locks").
readonly ROLE_LOCK_WRITER="aidbox-secrets lock writer"

readonly GITHUB_OIDC_ISSUER="https://token.actions.githubusercontent.com"
readonly FEDERATION_AUDIENCE="api://AzureADTokenExchange"
# Repositories created (or renamed, or transferred) from this day on get GitHub's immutable
# subject format, repo:OWNER@OWNER_ID/REPO@REPO_ID:... (GitHub docs, "Immutable subject claims").
readonly IMMUTABLE_SUBJECTS_SINCE="2026-07-15T00:00:00Z"

LOCATION="${LOCATION:-westeurope}"
SUBSCRIPTION_ID="${AZURE_SUBSCRIPTION_ID:-}"
PROD_SUBSCRIPTION_ID="${AZURE_PROD_SUBSCRIPTION_ID:-}"
SINGLE_SUBSCRIPTION="${SINGLE_SUBSCRIPTION:-false}"
GITHUB_REPO="${GITHUB_REPO:-}"
GITHUB_IDS="${GITHUB_IDS:-}"
SUBJECT_FORMAT="${SUBJECT_FORMAT:-auto}"
STATE_RESOURCE_GROUP="${STATE_RESOURCE_GROUP:-rg-aidbox-secrets-pulumi}"
STATE_STORAGE_ACCOUNT="${STATE_STORAGE_ACCOUNT:-}"
STATE_STORAGE_SKU="${STATE_STORAGE_SKU:-Standard_ZRS}"
STATE_CONTAINER="${STATE_CONTAINER:-pulumi-state}"
PROD_STATE_CONTAINER="${PROD_STATE_CONTAINER:-pulumi-state-prod}"
STATE_RETENTION_DAYS="${STATE_RETENTION_DAYS:-30}"
SECRETS_KEY_VAULT="${SECRETS_KEY_VAULT:-}"
SECRETS_KEY_NAME="${SECRETS_KEY_NAME:-pulumi-stack-secrets}"
PROD_SECRETS_KEY_NAME="${PROD_SECRETS_KEY_NAME:-pulumi-stack-secrets-prod}"
CI_IDENTITY_TYPE="${CI_IDENTITY_TYPE:-managed-identity}"
CI_IDENTITY_PREFIX="${CI_IDENTITY_PREFIX:-id-aidbox-secrets-github}"
PROD_ENVIRONMENT="${PROD_ENVIRONMENT:-prod}"
ADMIN_GROUP="${ADMIN_GROUP:-}"
PRINT=""

usage() {
  cat <<EOF
Usage: $0 --github-repo ORG/REPO --prod-subscription ID [options]

  --github-repo ORG/REPO     the repository whose workflows may sign in  [GITHUB_REPO]
                             (default: derived from the git remote "origin")
  --subscription ID          non-production subscription: dev stacks deploy here
                             [AZURE_SUBSCRIPTION_ID] (default: az's current)
  --prod-subscription ID     production subscription: prod deploys here, state and stack
                             secrets live here  [AZURE_PROD_SUBSCRIPTION_ID]
  --single-subscription      allow one subscription for both (docs/ci-cd.md says what the
                             deploy identity can then reach)  [SINGLE_SUBSCRIPTION=true]
  --subject-format FORMAT    auto | names | ids: GitHub's OIDC subject, repo:ORG/REPO:... or
                             repo:ORG@ID/REPO@ID:... (auto: ids for repositories created from
                             $IMMUTABLE_SUBJECTS_SINCE on, asked with gh)  [SUBJECT_FORMAT]
  --github-ids OWNER:REPO    the numeric owner and repository ids for --subject-format ids
                             (default: asked with gh)  [GITHUB_IDS]
  --location NAME            Azure region  [LOCATION] (default: $LOCATION)
  --resource-group NAME      state, keys and identities, in the production subscription
                             [STATE_RESOURCE_GROUP] (default: $STATE_RESOURCE_GROUP)
  --storage-account NAME     state storage account, 3-24 lowercase letters/digits, globally
                             unique  [STATE_STORAGE_ACCOUNT] (default: stpulumi<6 hex>)
  --storage-sku SKU          [STATE_STORAGE_SKU] (default: $STATE_STORAGE_SKU; Standard_LRS in
                             regions without zones)
  --container NAME           non-production state container  [STATE_CONTAINER]
                             (default: $STATE_CONTAINER)
  --prod-container NAME      production state container  [PROD_STATE_CONTAINER]
                             (default: $PROD_STATE_CONTAINER)
  --retention-days N         blob/container soft-delete days  [STATE_RETENTION_DAYS] (default: 30)
  --key-vault NAME           Key Vault for the stack secrets keys  [SECRETS_KEY_VAULT]
                             (default: kv-pulumi-<6 hex>)
  --key-name NAME            non-production key  [SECRETS_KEY_NAME] (default: $SECRETS_KEY_NAME)
  --prod-key-name NAME       production key  [PROD_SECRETS_KEY_NAME]
                             (default: $PROD_SECRETS_KEY_NAME)
  --identity-type TYPE       managed-identity | app-registration  [CI_IDENTITY_TYPE]
  --identity-prefix NAME     CI identity names: NAME-preview, NAME-deploy, NAME-prod
                             [CI_IDENTITY_PREFIX] (default: $CI_IDENTITY_PREFIX)
  --prod-environment NAME    GitHub environment guarding prod  [PROD_ENVIRONMENT] (default: prod)
  --admin-group OBJECT_ID    give the state and key rights for 'pulumi login' and 'stack init'
                             to this Entra ID group instead of you  [ADMIN_GROUP]
  --print-identities         print each identity, its repository variable and its federated
                             subject, and exit (no Azure call)
  --print-assignable-roles   print the role ids the CI identities may assign (the program's,
                             from components/azure/roles.py), and exit (no Azure call)
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
    --prod-subscription) PROD_SUBSCRIPTION_ID="${2:?}"; shift 2 ;;
    --single-subscription) SINGLE_SUBSCRIPTION=true; shift ;;
    --subject-format) SUBJECT_FORMAT="${2:?}"; shift 2 ;;
    --github-ids) GITHUB_IDS="${2:?}"; shift 2 ;;
    --location) LOCATION="${2:?}"; shift 2 ;;
    --resource-group) STATE_RESOURCE_GROUP="${2:?}"; shift 2 ;;
    --storage-account) STATE_STORAGE_ACCOUNT="${2:?}"; shift 2 ;;
    --storage-sku) STATE_STORAGE_SKU="${2:?}"; shift 2 ;;
    --container) STATE_CONTAINER="${2:?}"; shift 2 ;;
    --prod-container) PROD_STATE_CONTAINER="${2:?}"; shift 2 ;;
    --retention-days) STATE_RETENTION_DAYS="${2:?}"; shift 2 ;;
    --key-vault) SECRETS_KEY_VAULT="${2:?}"; shift 2 ;;
    --key-name) SECRETS_KEY_NAME="${2:?}"; shift 2 ;;
    --prod-key-name) PROD_SECRETS_KEY_NAME="${2:?}"; shift 2 ;;
    --identity-type) CI_IDENTITY_TYPE="${2:?}"; shift 2 ;;
    --identity-prefix) CI_IDENTITY_PREFIX="${2:?}"; shift 2 ;;
    --prod-environment) PROD_ENVIRONMENT="${2:?}"; shift 2 ;;
    --admin-group) ADMIN_GROUP="${2:?}"; shift 2 ;;
    --print-identities) PRINT=identities; shift ;;
    --print-assignable-roles) PRINT=roles; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# The roles the program assigns, in every mode: the one list, components/azure/roles.py. The
# CI identities may assign these and no other (their conditioned RBAC Administrator role).
assignable_roles() {
  python3 - "$REPO_ROOT/components/azure/roles.py" <<'PY'
import runpy
import sys

print("\n".join(sorted(runpy.run_path(sys.argv[1])["ASSIGNED"])))
PY
}

if [[ "$PRINT" == roles ]]; then
  assignable_roles
  exit 0
fi

# --- inputs -------------------------------------------------------------------------------

if [[ -z "$GITHUB_REPO" ]]; then
  remote="$(git -C "$REPO_ROOT" config --get remote.origin.url 2>/dev/null || true)"
  GITHUB_REPO="$(printf '%s' "$remote" | sed -E 's#^(git@github\.com:|https://github\.com/)##; s#\.git$##')"
  [[ "$GITHUB_REPO" != "$remote" ]] || GITHUB_REPO=""
fi
[[ "$GITHUB_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] ||
  die "--github-repo ORG/REPO is required (got '${GITHUB_REPO}')"
[[ "$CI_IDENTITY_TYPE" == "managed-identity" || "$CI_IDENTITY_TYPE" == "app-registration" ]] ||
  die "--identity-type must be managed-identity or app-registration"
[[ "$PROD_ENVIRONMENT" =~ ^[A-Za-z0-9_.-]+$ ]] ||
  die "--prod-environment must be letters, digits, '_', '.' and '-' (GitHub writes others differently in the subject)"
[[ -z "$ADMIN_GROUP" || "$ADMIN_GROUP" =~ ^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$ ]] ||
  die "--admin-group must be the group's object id (a GUID): $ADMIN_GROUP"

# GitHub's subject for this repository: repo:ORG/REPO, or, for repositories on immutable
# subject claims, repo:ORG@OWNER_ID/REPO@REPO_ID. A customised subject template (the
# repository's or its organisation's) changes the whole subject: docs/ci-cd.md.
subject_prefix() {
  local owner="${GITHUB_REPO%%/*}" repo="${GITHUB_REPO#*/}" format="$SUBJECT_FORMAT" created
  if [[ "$format" == auto ]]; then
    if command -v gh >/dev/null 2>&1 &&
      created="$(gh api "repos/$GITHUB_REPO" --jq .created_at 2>/dev/null)"; then
      if [[ "$created" > "$IMMUTABLE_SUBJECTS_SINCE" || "$created" == "$IMMUTABLE_SUBJECTS_SINCE" ]]; then
        format=ids
      else
        format=names
      fi
      log "repository created $created: $format subjects (pass --subject-format to choose)"
    else
      format=names
      log "gh is not available: names subjects; a repository created from" \
        "$IMMUTABLE_SUBJECTS_SINCE on needs --subject-format ids (docs/ci-cd.md)"
    fi
  fi
  case "$format" in
    names) printf 'repo:%s/%s' "$owner" "$repo" ;;
    ids)
      if [[ -z "$GITHUB_IDS" ]]; then
        command -v gh >/dev/null 2>&1 || die "--subject-format ids needs --github-ids OWNER_ID:REPO_ID (or gh)"
        GITHUB_IDS="$(gh api "repos/$GITHUB_REPO" --jq '"\(.owner.id):\(.id)"')"
      fi
      [[ "$GITHUB_IDS" =~ ^[0-9]+:[0-9]+$ ]] || die "--github-ids must be OWNER_ID:REPO_ID (numbers): $GITHUB_IDS"
      printf 'repo:%s@%s/%s@%s' "$owner" "${GITHUB_IDS%%:*}" "$repo" "${GITHUB_IDS#*:}"
      ;;
    *) die "--subject-format must be auto, names or ids" ;;
  esac
}

# One identity per trust level: its name suffix, the repository variable the workflows read
# its client id from, and the one GitHub context its federated credential accepts.
IDENTITIES=(
  "preview|AZURE_PREVIEW_CLIENT_ID|pull_request"
  "deploy|AZURE_DEPLOY_CLIENT_ID|ref:refs/heads/main"
  "prod|AZURE_PROD_CLIENT_ID|environment:$PROD_ENVIRONMENT"
)

prefix="$(subject_prefix)"
if [[ "$PRINT" == identities ]]; then
  for entry in "${IDENTITIES[@]}"; do
    IFS='|' read -r level variable context <<<"$entry"
    echo "$level $variable $prefix:$context"
  done
  exit 0
fi

# --- Azure helpers ------------------------------------------------------------------------

# Run a command up to 10 times, 20 s apart: new identities and role assignments take a while
# to replicate in Entra ID / Azure RBAC.
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
    log "role $role already assigned to $principal at $scope"
    return 0
  fi
  log "assigning role $role to $principal at $scope"
  local args=(role assignment create --assignee-object-id "$principal"
    --assignee-principal-type "$principal_type" --role "$role" --scope "$scope" --output none)
  if [[ -n "$condition" ]]; then
    args+=(--condition "$condition" --condition-version "2.0")
  fi
  retry az "${args[@]}"
}

# ensure_lock_writer_role SCOPE...: the custom role, assignable in the given subscriptions.
ensure_lock_writer_role() {
  local count scopes
  count="$(az role definition list --name "$ROLE_LOCK_WRITER" --custom-role-only true \
    --query "length(@)" --output tsv)"
  if [[ -n "$count" && "$count" != "0" ]]; then
    log "role $ROLE_LOCK_WRITER exists (its assignable scopes are kept as they are)"
    return 0
  fi
  scopes="$(printf '"%s",' "$@")"
  log "creating role $ROLE_LOCK_WRITER"
  az role definition create --output none --role-definition "{
    \"Name\": \"$ROLE_LOCK_WRITER\",
    \"Description\": \"Create and change management locks, never delete one (aidbox-secrets CI)\",
    \"Actions\": [\"Microsoft.Authorization/locks/read\", \"Microsoft.Authorization/locks/write\"],
    \"NotActions\": [],
    \"AssignableScopes\": [${scopes%,}]
  }"
}

ensure_federated_credential_mi() {
  local identity="$1" name="$2" subject="$3"
  if az identity federated-credential show --name "$name" --identity-name "$identity" \
    --resource-group "$STATE_RESOURCE_GROUP" --output none 2>/dev/null; then
    log "federated credential $identity/$name exists"
    return 0
  fi
  log "federated credential $identity/$name -> $subject"
  az identity federated-credential create --name "$name" --identity-name "$identity" \
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

# Create (or find) one CI identity federated to one subject; prints "CLIENT_ID PRINCIPAL_ID".
ensure_identity() {
  local name="$1" credential="$2" subject="$3" client_id principal_id
  if [[ "$CI_IDENTITY_TYPE" == "managed-identity" ]]; then
    if ! az identity show --name "$name" --resource-group "$STATE_RESOURCE_GROUP" \
      --output none 2>/dev/null; then
      log "creating user-assigned managed identity $name"
      az identity create --name "$name" --resource-group "$STATE_RESOURCE_GROUP" \
        --location "$LOCATION" --output none
    fi
    client_id="$(az identity show --name "$name" --resource-group "$STATE_RESOURCE_GROUP" \
      --query clientId --output tsv)"
    principal_id="$(az identity show --name "$name" --resource-group "$STATE_RESOURCE_GROUP" \
      --query principalId --output tsv)"
    ensure_federated_credential_mi "$name" "$credential" "$subject"
  else
    client_id="$(az ad app list --display-name "$name" --query "[0].appId" --output tsv)"
    if [[ -z "$client_id" ]]; then
      log "creating app registration $name"
      client_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg \
        --query appId --output tsv)"
    fi
    if ! az ad sp show --id "$client_id" --output none 2>/dev/null; then
      retry az ad sp create --id "$client_id" --output none
    fi
    principal_id="$(az ad sp show --id "$client_id" --query id --output tsv)"
    ensure_federated_credential_app "$client_id" "$credential" "$subject"
  fi
  echo "$client_id $principal_id"
}

# --- subscriptions ------------------------------------------------------------------------

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is required"
command -v python3 >/dev/null 2>&1 || die "python3 is required (it reads components/azure/roles.py)"
az account show --output none 2>/dev/null || die "run 'az login' first"

SUBSCRIPTION_ID="${SUBSCRIPTION_ID:-$(az account show --query id --output tsv)}"
[[ -n "$PROD_SUBSCRIPTION_ID" ]] ||
  die "--prod-subscription is required: production deploys into its own subscription" \
    "(or pass --single-subscription to accept one for both; docs/ci-cd.md)"
if [[ "$PROD_SUBSCRIPTION_ID" == "$SUBSCRIPTION_ID" && "$SINGLE_SUBSCRIPTION" != true ]]; then
  die "--prod-subscription equals --subscription: the deploy identity's rights would reach" \
    "production. Use two subscriptions, or pass --single-subscription (docs/ci-cd.md)"
fi
TENANT_ID="$(az account show --subscription "$PROD_SUBSCRIPTION_ID" --query tenantId --output tsv)"
nonprod_tenant="$(az account show --subscription "$SUBSCRIPTION_ID" --query tenantId --output tsv)"
[[ "$TENANT_ID" == "$nonprod_tenant" ]] || die "both subscriptions must be in one tenant"
NONPROD_SCOPE="/subscriptions/$SUBSCRIPTION_ID"
PROD_SCOPE="/subscriptions/$PROD_SUBSCRIPTION_ID"
# The state, the keys and the identities live in the production subscription.
az account set --subscription "$PROD_SUBSCRIPTION_ID"

suffix="$(short_hash "$PROD_SUBSCRIPTION_ID/$GITHUB_REPO")"
STATE_STORAGE_ACCOUNT="${STATE_STORAGE_ACCOUNT:-stpulumi$suffix}"
SECRETS_KEY_VAULT="${SECRETS_KEY_VAULT:-kv-pulumi-$suffix}"

[[ "$STATE_STORAGE_ACCOUNT" =~ ^[a-z0-9]{3,24}$ ]] ||
  die "storage account name must be 3-24 lowercase letters and digits: $STATE_STORAGE_ACCOUNT"
[[ "$SECRETS_KEY_VAULT" =~ ^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$ && "$SECRETS_KEY_VAULT" != *--* ]] ||
  die "Key Vault name must be 3-24 letters, digits and single hyphens, start with a letter and end with a letter or digit: $SECRETS_KEY_VAULT"
for container in "$STATE_CONTAINER" "$PROD_STATE_CONTAINER"; do
  [[ "$container" =~ ^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$ ]] ||
    die "container name must be 3-63 lowercase letters, digits and single hyphens: $container"
done
[[ "$STATE_CONTAINER" != "$PROD_STATE_CONTAINER" ]] ||
  die "production state needs its own container (--prod-container)"
[[ "$SECRETS_KEY_NAME" != "$PROD_SECRETS_KEY_NAME" ]] ||
  die "production stack secrets need their own key (--prod-key-name)"

role_set="$(assignable_roles | paste -sd, - | sed 's/,/, /g')"
[[ "$role_set" =~ ^[0-9a-f-]{36}(,\ [0-9a-f-]{36})*$ ]] ||
  die "components/azure/roles.py did not give a list of role definition GUIDs: $role_set"

log "non-production $SUBSCRIPTION_ID, production $PROD_SUBSCRIPTION_ID (tenant $TENANT_ID)"
log "repository $GITHUB_REPO, OIDC subjects $prefix:..."

for subscription in "$SUBSCRIPTION_ID" "$PROD_SUBSCRIPTION_ID"; do
  for namespace in Microsoft.Storage Microsoft.KeyVault Microsoft.ManagedIdentity \
    Microsoft.ContainerService Microsoft.Network Microsoft.OperationalInsights \
    Microsoft.Insights Microsoft.Monitor Microsoft.DBforPostgreSQL; do
    az provider register --subscription "$subscription" --namespace "$namespace" --wait --output none
  done
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
storage_id="$(az storage account show --name "$STATE_STORAGE_ACCOUNT" \
  --resource-group "$STATE_RESOURCE_GROUP" --query id --output tsv)"
# container-rm goes through Azure Resource Manager: it works with shared keys disabled and
# without a data-plane role for whoever runs this script.
for container in "$STATE_CONTAINER" "$PROD_STATE_CONTAINER"; do
  if az storage container-rm show --storage-account "$STATE_STORAGE_ACCOUNT" \
    --resource-group "$STATE_RESOURCE_GROUP" --name "$container" --output none 2>/dev/null; then
    log "container $container exists"
  else
    log "creating container $container"
    az storage container-rm create --storage-account "$STATE_STORAGE_ACCOUNT" \
      --resource-group "$STATE_RESOURCE_GROUP" --name "$container" --public-access off \
      --output none
  fi
done
container_scope="$storage_id/blobServices/default/containers/$STATE_CONTAINER"
prod_container_scope="$storage_id/blobServices/default/containers/$PROD_STATE_CONTAINER"
# Guard the account holding the state against deletion (a management lock does not affect
# reading or writing blobs).
az lock create --name pulumi-state-do-not-delete --lock-type CanNotDelete \
  --resource-group "$STATE_RESOURCE_GROUP" --resource-name "$STATE_STORAGE_ACCOUNT" \
  --resource-type Microsoft.Storage/storageAccounts \
  --notes "Pulumi state for $GITHUB_REPO" --output none

# --- Key Vault and keys for stack secrets -------------------------------------------------

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

# This script creates the keys: Key Vault Crypto Officer on this vault, for whoever runs it.
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

for key in "$SECRETS_KEY_NAME" "$PROD_SECRETS_KEY_NAME"; do
  if az keyvault key show --vault-name "$SECRETS_KEY_VAULT" --name "$key" \
    --output none 2>/dev/null; then
    log "key $key exists"
  else
    log "creating key $key (waiting for the role assignment to propagate)"
    retry az keyvault key create --vault-name "$SECRETS_KEY_VAULT" --name "$key" \
      --kty RSA --size 3072 --ops encrypt decrypt --output none
  fi
done
key_scope="$vault_id/keys/$SECRETS_KEY_NAME"
prod_key_scope="$vault_id/keys/$PROD_SECRETS_KEY_NAME"

# --- who bootstraps the stacks ------------------------------------------------------------

# `pulumi login azblob://...` and `pulumi stack init --secrets-provider ...` for every stack:
# read and write both state containers, encrypt with both keys. Nothing more.
if [[ -n "$ADMIN_GROUP" ]]; then
  admin_id="$ADMIN_GROUP"
  admin_type="Group"
else
  admin_id="$caller_id"
  admin_type="$caller_principal_type"
fi
for scope in "$container_scope" "$prod_container_scope"; do
  ensure_role "$admin_id" "$admin_type" "$ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR" "$scope"
done
for scope in "$key_scope" "$prod_key_scope"; do
  ensure_role "$admin_id" "$admin_type" "$ROLE_KEY_VAULT_CRYPTO_USER" "$scope"
done

# --- the CI identities, one per trust level -----------------------------------------------

# Assigning and removing only the roles the program assigns (components/azure/roles.py).
condition="((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {$role_set})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {$role_set}))"

if [[ "$PROD_SCOPE" == "$NONPROD_SCOPE" ]]; then
  ensure_lock_writer_role "$NONPROD_SCOPE"
else
  ensure_lock_writer_role "$NONPROD_SCOPE" "$PROD_SCOPE"
fi

client_ids=""
for entry in "${IDENTITIES[@]}"; do
  IFS='|' read -r level variable context <<<"$entry"
  ids="$(ensure_identity "$CI_IDENTITY_PREFIX-$level" "github-$level" "$prefix:$context")"
  read -r client_id principal_id <<<"$ids"
  [[ -n "$client_id" && -n "$principal_id" ]] || die "no ids for identity $CI_IDENTITY_PREFIX-$level"
  client_ids+="gh variable set $variable --repo $GITHUB_REPO --body $client_id"$'\n'
  case "$level" in
    preview)
      # Read Azure, fetch the cluster's API server and CA (no secret on an Entra ID cluster),
      # read Kubernetes objects but Secrets, read state, decrypt non-production stack secrets.
      ensure_role "$principal_id" ServicePrincipal "$ROLE_READER" "$NONPROD_SCOPE"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_AKS_CLUSTER_USER" "$NONPROD_SCOPE"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_AKS_RBAC_READER" "$NONPROD_SCOPE"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_STORAGE_BLOB_DATA_READER" "$container_scope"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_KEY_VAULT_CRYPTO_USER" "$key_scope"
      ;;
    deploy | prod)
      if [[ "$level" == deploy ]]; then
        scope="$NONPROD_SCOPE" state="$container_scope" key="$key_scope"
      else
        scope="$PROD_SCOPE" state="$prod_container_scope" key="$prod_key_scope"
      fi
      # The stacks create their resource group, network, AKS, Key Vault, database, ...
      ensure_role "$principal_id" ServicePrincipal "$ROLE_CONTRIBUTOR" "$scope"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_RBAC_ADMINISTRATOR" "$scope" "$condition"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_LOCK_WRITER" "$scope"
      # Cluster admin on the clusters it deploys, ahead of time: the first `up` never waits
      # for a new grant to reach the API server. The subscription is the narrowest scope that
      # exists before the first `up` (the program creates the cluster's resource group).
      ensure_role "$principal_id" ServicePrincipal "$ROLE_AKS_RBAC_CLUSTER_ADMIN" "$scope"
      # The clusters' Azure Policy assignments (cluster.azurePolicy, on by default on
      # production): Contributor may not write policy assignments.
      ensure_role "$principal_id" ServicePrincipal "$ROLE_RESOURCE_POLICY_CONTRIBUTOR" "$scope"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR" "$state"
      ensure_role "$principal_id" ServicePrincipal "$ROLE_KEY_VAULT_CRYPTO_USER" "$key"
      ;;
  esac
done

# The single CI identity of earlier versions of this script held every right at once.
if az identity show --name "$CI_IDENTITY_PREFIX" --resource-group "$STATE_RESOURCE_GROUP" \
  --output none 2>/dev/null; then
  log "WARNING: $CI_IDENTITY_PREFIX (the old single CI identity) still exists; once the" \
    "workflows use the three above, delete it:" \
    "az identity delete --name $CI_IDENTITY_PREFIX --resource-group $STATE_RESOURCE_GROUP"
fi

# --- what to do next ----------------------------------------------------------------------

vault_host="$SECRETS_KEY_VAULT.vault.azure.net"
cat <<EOF

Backend ready. Set the repository variables the workflows read (variables, not secrets:
none of these is a credential):

gh variable set AZURE_TENANT_ID --repo $GITHUB_REPO --body $TENANT_ID
gh variable set AZURE_SUBSCRIPTION_ID --repo $GITHUB_REPO --body $SUBSCRIPTION_ID
gh variable set AZURE_PROD_SUBSCRIPTION_ID --repo $GITHUB_REPO --body $PROD_SUBSCRIPTION_ID
EOF
printf '%s' "$client_ids"
cat <<EOF
gh variable set PULUMI_STATE_STORAGE_ACCOUNT --repo $GITHUB_REPO --body $STATE_STORAGE_ACCOUNT
gh variable set PULUMI_STATE_CONTAINER --repo $GITHUB_REPO --body $STATE_CONTAINER
gh variable set PULUMI_PROD_STATE_CONTAINER --repo $GITHUB_REPO --body $PROD_STATE_CONTAINER
gh variable set PULUMI_SECRETS_PROVIDER --repo $GITHUB_REPO --body azurekeyvault://$vault_host/keys/$SECRETS_KEY_NAME
gh variable set PULUMI_PROD_SECRETS_PROVIDER --repo $GITHUB_REPO --body azurekeyvault://$vault_host/keys/$PROD_SECRETS_KEY_NAME
# optional, runner label for prod jobs: its fixed egress IP must be in prod's
# aidbox-secrets:cluster.apiServerAuthorizedRanges (default: self-hosted)
# gh variable set PROD_RUNNER --repo $GITHUB_REPO --body <runner-label>

Create the '$PROD_ENVIRONMENT' environment, restricted to main, with required reviewers
(docs/ci-cd.md, step 4): the production identity trusts only jobs in it.

Then initialise the stacks (docs/ci-cd.md, step 6):

export AZURE_STORAGE_ACCOUNT=$STATE_STORAGE_ACCOUNT
pulumi login azblob://$STATE_CONTAINER
pulumi stack init dev --secrets-provider azurekeyvault://$vault_host/keys/$SECRETS_KEY_NAME
EOF
