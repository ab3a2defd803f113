#!/usr/bin/env bash
# `pulumi up` of the local stack on kind (.github/workflows/kind.yml, README "Try it on kind").
# Without an Aidbox license the Aidbox Deployment (and what depends on it) is left out: it
# could not start, and the run would wait for it until the timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
args=(--yes --stack local --skip-preview)
if ! pulumi config get aidboxLicense --stack local >/dev/null 2>&1; then
  args+=(--exclude 'urn:pulumi:local::aidbox-secrets::**::aidbox-deployment' --exclude-dependents)
fi
pulumi up "${args[@]}"
