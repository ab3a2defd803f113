#!/usr/bin/env bash
# The engine run (README, "End-to-end run"): the program's whole life cycle with the real Pulumi
# CLI and Kubernetes provider against real etcd, kube-apiserver, kube-controller-manager and
# Vault on 127.0.0.1, started and stopped here (scripts/e2e/engine.py says what each phase
# proves; scripts/e2e/standins stand in for the random, tls and vault providers, which cannot be
# built here).
#
#   bash scripts/e2e.sh    build the tools if missing (scripts/e2e/tools.sh: tens of minutes
#                          cold), then run
#
# Run it with the project's virtualenv active. Everything lives in a temporary directory that
# is removed afterwards; nothing listens beyond loopback. E2E_REPORT names a JSON report.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash scripts/e2e/tools.sh >/dev/null
echo "e2e: tools ready in $((SECONDS - start)) s"
work=$(mktemp -d "${TMPDIR:-/tmp}/aidbox-secrets-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
E2E_WORK="$work" E2E_SUMMARY="$work/summary" bash scripts/e2e/servers.sh run "$work/servers" \
  python scripts/e2e/engine.py || status=$?
echo "e2e: $((SECONDS - start)) s in all (tools, servers started and stopped included)"
cat "$work/summary" 2>/dev/null || echo "e2e: 0 passed, 1 failed (the servers did not start)"
exit "$status"
