#!/usr/bin/env bash
# The end-to-end run (README, "End-to-end run"): real etcd, kube-apiserver,
# kube-controller-manager and Vault on 127.0.0.1, started and stopped here, with the program's
# declared resources applied to them through Helm, the API server and Vault's API
# (scripts/e2e/prove.py says what is real and what is not, and checks each promise).
#
#   bash scripts/e2e.sh            build the tools if missing (tens of minutes cold), then run
#   bash scripts/e2e.sh --if-built run only if the tools are already built; else say why not
#
# Run it with the project's virtualenv active. Everything lives in a temporary directory that
# is removed afterwards; nothing listens beyond loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--if-built" ]; then
  if ! missing=$(bash scripts/e2e/tools.sh --check 2>&1); then
    echo "e2e: SKIPPED, the tools are not built: $missing"
    echo "e2e: build them once with 'bash scripts/e2e/tools.sh' (see its header for the time)"
    exit 0
  fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/aidbox-secrets-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
status=0
E2E_SUMMARY="$work/summary" bash scripts/e2e/servers.sh run "$work/servers" \
  python scripts/e2e/prove.py || status=$?
echo "e2e: $((SECONDS - start)) s in all (servers started and stopped included)"
cat "$work/summary" 2>/dev/null || echo "e2e: 0 passed, 1 failed (the servers did not start)"
exit "$status"
