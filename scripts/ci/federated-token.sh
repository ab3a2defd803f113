#!/usr/bin/env bash
# Keep a fresh GitHub Actions OIDC token in a file for the whole job, for the Azure SDK's
# WorkloadIdentityCredential (AZURE_FEDERATED_TOKEN_FILE, with AZURE_CLIENT_ID and
# AZURE_TENANT_ID). The Pulumi state backend (azblob://) and stack secrets provider
# (azurekeyvault://) sign in through the Go SDK's DefaultAzureCredential, which reads this file
# again whenever it needs a new Entra ID token (docs/ci-cd.md, "Tokens that renew"). A GitHub
# ID token is valid for 5 minutes, so the file is rewritten every 4.
#
# Usage, as a step of a job with `permissions: id-token: write`:
#   bash scripts/ci/federated-token.sh [FILE]
# FILE defaults to $RUNNER_TEMP/azure-federated-token. The script writes it (mode 600), starts
# the refresher in the background (its process id in FILE.pid, its warnings in FILE.log;
# GitHub ends it with the job),
# and hands AZURE_FEDERATED_TOKEN_FILE to the job's later steps through $GITHUB_ENV.
set -euo pipefail

INTERVAL="${FEDERATED_TOKEN_REFRESH_SECONDS:-240}"

die() {
  echo "federated-token: $*" >&2
  exit 1
}

# Print a new ID token for Entra ID's token exchange (audience api://AzureADTokenExchange).
fetch() {
  curl --silent --show-error --fail --max-time 30 --retry 3 \
    --header "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api%3A%2F%2FAzureADTokenExchange" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["value"], end="")'
}

# Replace FILE in one step (a reader never sees half a token); keep the old one on failure.
write() {
  local tmp
  tmp="$(mktemp "$1.XXXXXX")" # mode 600
  if fetch >"$tmp" && [[ -s "$tmp" ]]; then
    mv -f "$tmp" "$1"
  else
    rm -f "$tmp"
    return 1
  fi
}

if [[ "${1:-}" == "--refresh-loop" ]]; then
  file="$2"
  while sleep "$INTERVAL"; do
    write "$file" || echo "federated-token: refresh failed; keeping the previous token" >&2
  done
  exit 0
fi

[[ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" && -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]] ||
  die "no GitHub OIDC token endpoint: the job needs 'permissions: id-token: write'"
[[ "$INTERVAL" =~ ^[1-9][0-9]*$ ]] || die "FEDERATED_TOKEN_REFRESH_SECONDS must be whole seconds"
file="${1:-${RUNNER_TEMP:?RUNNER_TEMP is not set: pass the token file}/azure-federated-token}"

write "$file" || die "could not get a token from the GitHub OIDC endpoint"
nohup bash "${BASH_SOURCE[0]}" --refresh-loop "$file" >>"$file.log" 2>&1 &
echo "$!" >"$file.pid"
if [[ -n "${GITHUB_ENV:-}" ]]; then
  echo "AZURE_FEDERATED_TOKEN_FILE=$file" >>"$GITHUB_ENV"
fi
echo "federated-token: $file, renewed every ${INTERVAL}s"
