#!/usr/bin/env bash
# Proves the data plane of the local stack on a kind cluster after scripts/kind/up.sh:
#   1. the CSI driver mounted the database password from Vault (the in-cluster PostgreSQL
#      reads it from the mounted file and becomes ready);
#   2. Aidbox starts (only with a license; without one this stops here, saying so);
#   3. Client/basic gets a token with the value from Vault, and not with a wrong one;
#   4. after `vault kv patch` of a new value, within the rotation interval plus a margin, the
#      new value works and the old one fails, and no pod restarted.
# Needs kubectl (context kind-aidbox), curl and python3. Fails (exit 1) at the first broken
# promise.
set -euo pipefail
NS=default
VAULT_NS=vault
KV_PATH=secret/aidbox/client/client-secret
ROTATION_SECONDS=30 # rotationPollInterval (the default)
MARGIN_SECONDS=60
PORT=18080

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "--- $*"; }

step "1. the driver mounts the database password from Vault"
kubectl -n "$NS" rollout status statefulset/aidbox-db --timeout=300s ||
  fail "the in-cluster database did not become ready (is the file mounted?)"
kubectl -n "$NS" exec aidbox-db-0 -c postgres -- test -s /run/vault-secrets/aidbox-db-password ||
  fail "no database password file in the CSI mount"
echo "ok: /run/vault-secrets/aidbox-db-password mounted and read by PostgreSQL"

if ! kubectl -n "$NS" get deployment aidbox >/dev/null 2>&1; then
  echo "STOPPED BEFORE AIDBOX: no AIDBOX_LICENSE secret in this repository, so the Aidbox"
  echo "Deployment was not created. Steps 2-4 need a license."
  exit 0
fi

step "2. Aidbox starts"
kubectl -n "$NS" rollout status deployment/aidbox --timeout=600s || fail "Aidbox did not start"

vault_kv() {
  kubectl -n "$VAULT_NS" exec -i vault-0 -- \
    sh -c "VAULT_TOKEN=\"\$VAULT_DEV_ROOT_TOKEN\" vault kv $*"
}
restarts() {
  kubectl -n "$NS" get pods -l app.kubernetes.io/name=aidbox \
    -o jsonpath='{range .items[*]}{.metadata.uid}:{.status.containerStatuses[0].restartCount} {end}'
}
token_status() { # client secret -> HTTP status of a client_credentials token request
  python3 -c 'import json,sys; print(json.dumps({"grant_type": "client_credentials",
    "client_id": "basic", "client_secret": sys.argv[1]}))' "$1" |
    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary @- "http://127.0.0.1:$PORT/auth/token"
}

kubectl -n "$NS" port-forward svc/aidbox "$PORT:8080" >/dev/null 2>&1 &
forward=$!
trap 'kill $forward 2>/dev/null || true' EXIT
for _ in $(seq 30); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break
  sleep 1
done

step "3. Client/basic authenticates with the value from Vault, not with a wrong one"
old=$(vault_kv get -field=value "$KV_PATH")
[ -n "$old" ] || fail "no client-secret in Vault at $KV_PATH"
[ "$(token_status "$old")" = 200 ] || fail "the value from Vault was refused"
[ "$(token_status "wrong-$old")" = 401 ] || fail "a wrong secret was not refused with 401"
echo "ok: 200 with the value from Vault, 401 with a wrong one"

step "4. rotation in Vault reaches Aidbox without a restart"
before=$(restarts)
new=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
printf '%s' "$new" | vault_kv patch "$KV_PATH" value=- >/dev/null
started=$SECONDS
deadline=$((started + ROTATION_SECONDS + MARGIN_SECONDS))
until [ "$(token_status "$new")" = 200 ] && [ "$(token_status "$old")" = 401 ]; do
  [ $SECONDS -lt $deadline ] ||
    fail "after $((ROTATION_SECONDS + MARGIN_SECONDS)) s the new value is not in use"
  sleep 5
done
echo "ok: the new value works and the old one fails after $((SECONDS - started)) s"
[ "$(restarts)" = "$before" ] || fail "pods restarted or were replaced: $before -> $(restarts)"
echo "ok: no pod restarted ($before)"
echo "PASS: the data plane works end to end"
