#!/usr/bin/env bash
# What only the real Pulumi engine can show, on the local stack after scripts/kind/up.sh and
# verify.sh (the kind workflow; README, "Try it on kind"):
#   1. a second `up` changes nothing (--expect-no-changes), also after verify.sh rotated the
#      client secret in Vault: the program seeds a secret once and leaves a rotated value alone;
#   2. the state holds no store value in plain text (`pulumi stack export`, secrets encrypted);
#   3. `destroy` leaves nothing of the program behind in the cluster (CRDs aside: Helm keeps the
#      CRDs a chart installed, on purpose).
# Vault dev keeps data in memory and the program writes its seed back after a `refresh`
# (docs/operations.md, "Rotate"): a rotation surviving `refresh` is a property of ha and
# external Vault, not checked here. Needs kubectl (context kind-aidbox), pulumi and python3;
# fails at the first broken promise.
set -euo pipefail
cd "$(dirname "$0")/../.."
STACK=local
VAULT_NS=vault
KV_PATH=secret/aidbox/client/client-secret
PART_OF=app.kubernetes.io/part-of=aidbox-secrets

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "--- $*"; }

up_args=(--yes --stack "$STACK" --skip-preview --expect-no-changes)
if ! pulumi config get aidboxLicense --stack "$STACK" >/dev/null 2>&1; then
  up_args+=(--exclude 'urn:pulumi:local::aidbox-secrets::**::aidbox-deployment' --exclude-dependents)
fi

step "1. a second up changes nothing, after a rotation in Vault too"
before=$(kubectl -n "$VAULT_NS" exec vault-0 -- \
  sh -c "VAULT_TOKEN=\"\$VAULT_DEV_ROOT_TOKEN\" vault kv get -format=json $KV_PATH")
pulumi up "${up_args[@]}" || fail "the second up wanted to change something"
after=$(kubectl -n "$VAULT_NS" exec vault-0 -- \
  sh -c "VAULT_TOKEN=\"\$VAULT_DEV_ROOT_TOKEN\" vault kv get -format=json $KV_PATH")
python3 - "$before" "$after" <<'PY' || fail "up changed the values in Vault"
import json, sys
before, after = (json.loads(a)["data"]["data"] for a in sys.argv[1:])
sys.exit(0 if before == after else 1)
PY
echo "ok: no changes, and Vault holds what it held"

step "2. no store value in plain text in the state"
export_file=$(mktemp)
trap 'rm -f "$export_file"' EXIT
pulumi stack export --stack "$STACK" --file "$export_file"
python3 - "$after" "$export_file" <<'PY' || fail "a store value is in the state in plain text"
import json, sys
values = json.loads(sys.argv[1])["data"]["data"].values()
state = open(sys.argv[2]).read()
leaked = [v[:4] + "..." for v in values if len(v) >= 8 and v in state]
print(f"checked {len(values)} values against {len(state)} bytes of state; leaked: {leaked}")
sys.exit(1 if leaked else 0)
PY

step "3. destroy leaves nothing of the program behind"
pulumi destroy --yes --stack "$STACK" --skip-preview
left=$(kubectl get all,configmaps,secrets,serviceaccounts,networkpolicies,secretproviderclasses \
  -A -l "$PART_OF" -o name 2>/dev/null)
[ -z "$left" ] || fail "left behind: $left"
if kubectl get namespace "$VAULT_NS" >/dev/null 2>&1; then
  kubectl wait --for=delete "namespace/$VAULT_NS" --timeout=120s >/dev/null 2>&1 ||
    fail "namespace $VAULT_NS is still there"
fi
releases=$(kubectl get secrets -A -l owner=helm -o name)
[ -z "$releases" ] || fail "Helm releases left: $releases"
echo "ok: no labelled object, no Vault namespace, no Helm release"
echo "PASS: what the engine shows holds"
