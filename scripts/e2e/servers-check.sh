#!/usr/bin/env bash
# Proves the test servers of scripts/e2e/servers.sh do what the end-to-end run needs, with curl
# and the cached helm only: starts them in a temporary directory, then
#   - a service-account token Secret is filled by kube-controller-manager, and TokenReviews of
#     its token and of a TokenRequest token (audience `vault`) authenticate the ServiceAccounts;
#   - the vendored Secrets Store CSI Driver chart installs (no hooks) and its CRD admits a
#     SecretProviderClass (and refuses a malformed one);
#   - Vault's Kubernetes auth, configured against the API server as the program configures it
#     (reviewer token bound to system:auth-delegator), logs the workload's ServiceAccount in
#     with a read-only policy that reads a KV secret and may not write it;
#   - deleting the namespace empties it (namespace controller);
# stops them and checks that no process started in the directory is left. Exits non-zero on the
# first failed check. Usage: scripts/e2e/servers-check.sh (E2E_KEEP=1 keeps the directory).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(cd "$(mktemp -d "${TMPDIR:-/tmp}/aidbox-secrets-e2e.XXXXXX")" && pwd -P)"
# shellcheck source=/dev/null
source "$here/servers.sh"

fail() {
  echo "servers-check: FAILED: $*" >&2
  exit 1
}
ok() { echo "servers-check: ok: $*"; }

started=$SECONDS
e2e_servers_start "$work"
# Replace start's EXIT trap with one that also removes the directory.
trap 'e2e_servers_stop "$work"; [ -n "${E2E_KEEP:-}" ] || rm -rf "$work"' EXIT
echo "servers-check: started in $((SECONDS - started))s"
# shellcheck source=/dev/null
source "$work/env"
vault_token="$(cat "$E2E_VAULT_TOKEN_FILE")"

# The Kubernetes API as the admin: kube METHOD PATH [JSON].
kube() {
  curl --noproxy '*' --silent --show-error --fail-with-body --max-time 20 \
    --cacert "$E2E_CA_FILE" --cert "$E2E_CLIENT_CERT" --key "$E2E_CLIENT_KEY" \
    -X "$1" -H 'Content-Type: application/json' "$E2E_APISERVER$2" ${3:+--data "$3"}
}
# Vault's HTTP API: vault METHOD PATH [JSON] [TOKEN] (the root token unless given; "" for
# none); prints the body, fails on HTTP errors.
vault() {
  local token="${4-$vault_token}"
  curl --noproxy '*' --silent --show-error --fail-with-body --max-time 20 -X "$1" \
    --cacert "$VAULT_CACERT" ${token:+-H "X-Vault-Token: $token"} "$VAULT_ADDR/v1/$2" \
    ${3:+--data "$3"}
}
# Polls `command` until it succeeds, for at most $1 seconds.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

ns=e2e-check
# As the program sets up an external Vault: a token-reviewer ServiceAccount bound to
# system:auth-delegator with a long-lived token Secret (filled by kube-controller-manager), and
# the workload's ServiceAccount, whose tokens carry the `vault` audience.
kube POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"'$ns'"}}' >/dev/null
for sa in vault-token-reviewer aidbox; do
  kube POST "/api/v1/namespaces/$ns/serviceaccounts" \
    '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"'$sa'"}}' >/dev/null
done
kube POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{
  "apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
  "metadata":{"name":"e2e-check-token-reviewer"},
  "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:auth-delegator"},
  "subjects":[{"kind":"ServiceAccount","name":"vault-token-reviewer","namespace":"'$ns'"}]}' >/dev/null
kube POST "/api/v1/namespaces/$ns/secrets" '{"apiVersion":"v1","kind":"Secret",
  "type":"kubernetes.io/service-account-token","metadata":{"name":"vault-token-reviewer-token",
  "annotations":{"kubernetes.io/service-account.name":"vault-token-reviewer"}}}' >/dev/null
token_filled() {
  kube GET "/api/v1/namespaces/$ns/secrets/vault-token-reviewer-token" | jq -e '.data.token' >/dev/null
}
eventually 30 token_filled || fail "kube-controller-manager did not fill the token Secret"
reviewer_jwt="$(kube GET "/api/v1/namespaces/$ns/secrets/vault-token-reviewer-token" |
  jq -r '.data.token' | base64 -d)"
ok "kube-controller-manager filled the service-account token Secret"

# A TokenReview of `token` by the admin, for `audience` (none: the API server's own).
review() {
  kube POST /apis/authentication.k8s.io/v1/tokenreviews "$(jq -n --arg t "$1" --arg a "${2:-}" \
    '{apiVersion:"authentication.k8s.io/v1",kind:"TokenReview",
      spec:({token:$t} + (if $a == "" then {} else {audiences:[$a]} end))}')"
}
reviewed="$(review "$reviewer_jwt")"
if [ "$(jq -r '.status.authenticated' <<<"$reviewed")" != true ] ||
  [ "$(jq -r '.status.user.username' <<<"$reviewed")" != "system:serviceaccount:$ns:vault-token-reviewer" ]; then
  fail "TokenReview of the Secret's token: $reviewed"
fi
# The workload's token, as the kubelet would request it for the driver (TokenRequest).
token_for() {
  kube POST "/api/v1/namespaces/$ns/serviceaccounts/aidbox/token" \
    '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"audiences":["'"$1"'"],
    "expirationSeconds":600}}' | jq -r '.status.token'
}
aidbox_jwt="$(token_for vault)"
[ "$(review "$aidbox_jwt" vault | jq -r '.status.authenticated')" = true ] ||
  fail "TokenReview of the workload's vault-audience token: $(review "$aidbox_jwt" vault)"
[ "$(review "$aidbox_jwt" other | jq -r '.status.authenticated // false')" = false ] ||
  fail "TokenReview took the vault-audience token for another audience"
[ "$(review x.y.z | jq -r '.status.authenticated // false')" = false ] ||
  fail "TokenReview took a bogus token"
ok "TokenReview authenticates both tokens (the audience enforced) and refuses a bogus one"

"$E2E_HELM" install csi-driver "$repo/charts/secrets-store-csi-driver-1.6.0.tgz" \
  --namespace kube-system --no-hooks >/dev/null
kube GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/secretproviderclasses.secrets-store.csi.x-k8s.io \
  | jq -e '.status.conditions[] | select(.type == "Established" and .status == "True")' >/dev/null ||
  fail "the SecretProviderClass CRD is not established"
kube GET /apis/apps/v1/namespaces/kube-system/daemonsets/csi-driver-secrets-store-csi-driver >/dev/null ||
  fail "the driver chart's DaemonSet was not admitted"
spc() {
  kube POST "/apis/secrets-store.csi.x-k8s.io/v1/namespaces/$ns/secretproviderclasses" "$1"
}
spc_ok() { spc '{"apiVersion":"secrets-store.csi.x-k8s.io/v1","kind":"SecretProviderClass",
  "metadata":{"name":"aidbox"},"spec":{"provider":"vault","parameters":{"roleName":"aidbox",
  "vaultAddress":"'"$VAULT_ADDR"'","objects":"- objectName: client-secret\n  secretPath: secret/data/aidbox\n  secretKey: value\n"}}}'; }
eventually 15 spc_ok || fail "a SecretProviderClass was not admitted: $(spc_ok 2>&1 || true)"
if spc '{"apiVersion":"secrets-store.csi.x-k8s.io/v1","kind":"SecretProviderClass",
  "metadata":{"name":"malformed"},"spec":{"provider":["vault"]}}' >/dev/null 2>&1; then
  fail "the CRD admitted a SecretProviderClass whose provider is a list"
fi
ok "the vendored driver chart installed; its CRD admits a SecretProviderClass and refuses a malformed one"

vault POST sys/auth/kubernetes '{"type":"kubernetes"}' >/dev/null
vault POST auth/kubernetes/config "$(jq -n --arg h "$E2E_APISERVER" --rawfile ca "$E2E_CA_FILE" \
  --arg j "$reviewer_jwt" '{kubernetes_host:$h,kubernetes_ca_cert:$ca,token_reviewer_jwt:$j}')" \
  >/dev/null
vault PUT sys/policies/acl/aidbox-read \
  '{"policy":"path \"secret/data/aidbox\" { capabilities = [\"read\"] }"}' >/dev/null
vault POST auth/kubernetes/role/aidbox '{"bound_service_account_names":["aidbox"],
  "bound_service_account_namespaces":["'$ns'"],"audience":"vault","token_policies":["aidbox-read"],
  "token_ttl":"10m"}' >/dev/null
vault POST secret/data/aidbox '{"data":{"value":"s3cr3t-from-vault"}}' >/dev/null
login() { vault POST auth/kubernetes/login "$(jq -n --arg j "$1" '{role:"aidbox",jwt:$j}')" ""; }
logged_in="$(login "$aidbox_jwt")" || fail "Vault kubernetes login: $logged_in"
client_token="$(jq -r '.auth.client_token' <<<"$logged_in")"
jq -e '.auth.policies | index("aidbox-read")' <<<"$logged_in" >/dev/null ||
  fail "login policies: $logged_in"
[ "$(vault GET secret/data/aidbox "" "$client_token" | jq -r '.data.data.value')" = s3cr3t-from-vault ] ||
  fail "the logged-in ServiceAccount could not read secret/data/aidbox"
if vault POST secret/data/aidbox '{"data":{"value":"x"}}' "$client_token" >/dev/null 2>&1; then
  fail "the read-only policy let the ServiceAccount write"
fi
if login "$(token_for other)" >/dev/null 2>&1; then
  fail "Vault logged in a token of another audience"
fi
if login "$reviewer_jwt" >/dev/null 2>&1; then
  fail "Vault logged in a ServiceAccount the role does not bind"
fi
ok "Vault's kubernetes auth logs the workload in through the API server's TokenReview (audience and ServiceAccount enforced); the read-only policy holds"

kube DELETE "/api/v1/namespaces/$ns" >/dev/null
ns_gone() { ! kube GET "/api/v1/namespaces/$ns" >/dev/null 2>&1; }
eventually 60 ns_gone || fail "namespace $ns was not removed (namespace controller)"
ok "deleting the namespace removed it and its objects"

stopping=$SECONDS
e2e_servers_stop "$work"
echo "servers-check: stopped in $((SECONDS - stopping))s"
left=""
for proc in /proc/[0-9]*; do
  [ "$(readlink "$proc/cwd" 2>/dev/null)" = "$work" ] && left="$left ${proc#/proc/}"
done
[ -z "$left" ] || fail "processes left running in $work:$left"
ok "no process left"
echo "servers-check: all checks passed in $((SECONDS - started))s"
