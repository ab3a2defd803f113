#!/usr/bin/env bash
# Copies the images a stack runs into the registry it pulls them from (registry.mode acr or
# external), then records them in the stack's config (registry.imported), which the program
# checks before any resource: pods pull only images recorded there.
#
#   bash scripts/import-images.sh <stack> [--registry <name>]
#
# Run it from the repository root, logged in with `az login` (and `pulumi login`), as someone who
# may import into the registry (Contributor on it, or "Container Registry Data Importer and Data
# Reader"). `az acr import` goes through Azure Resource Manager: the registry's public network
# access stays off, and Azure, not this machine, pulls from the public registries.
#
# - registry.mode acr: the stack's own registry. On a stack that has none yet (a first deploy, or
#   switching to acr), it is created first with a targeted `pulumi up` of the resource group and
#   the registry only (nothing pulls from it then).
# - registry.mode external: name your Azure Container Registry with --registry; for another kind
#   of registry, copy the images your way and record them with
#   `pulumi config set --path 'registry.imported[N]' <source>`.
#
# Each import is `az acr import --force`, so a re-run copies again the same pinned images; Docker
# Hub rate-limits anonymous pulls from Azure's shared addresses: a refused import is retried.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
project="aidbox-secrets"
usage="usage: bash scripts/import-images.sh <stack> [--registry <name>]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
stack="$1"
shift
registry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --registry) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; registry="$2"; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
cd "$root"
stack_file="Pulumi.$stack.yaml"
[ -f "$stack_file" ] || { echo "scripts/import-images.sh: no $stack_file here" >&2; exit 1; }

pairs="$(python3 scripts/registry_images.py "$stack_file")"

# The stack's registry from its state (stack outputs are not written by a targeted update).
state_registry() {
  pulumi stack export --stack "$stack" | python3 -c '
import json, sys
state = json.load(sys.stdin)
for r in (state.get("deployment") or {}).get("resources") or []:
    if r.get("type") == "azure-native:containerregistry:Registry":
        print(r.get("outputs", {}).get("name", ""))
        break
'
}

if [ -z "$registry" ]; then
  registry="$(state_registry)"
fi
if [ -z "$registry" ]; then
  echo "creating the stack's registry (resource group and registry only)" >&2
  urn="urn:pulumi:$stack::$project"
  AIDBOX_SECRETS_REGISTRY_BOOTSTRAP=1 pulumi up --stack "$stack" --yes --skip-preview \
    --target "$urn::$project:azure:Platform\$azure-native:resources:ResourceGroup::platform-rg" \
    --target "$urn::$project:azure:ContainerRegistry\$azure-native:containerregistry:Registry::registry-acr"
  registry="$(state_registry)"
  [ -n "$registry" ] || {
    echo "scripts/import-images.sh: no registry in stack $stack after the targeted up" \
      "(is registry.mode acr?)" >&2
    exit 1
  }
fi

sources=()
while read -r source target; do
  [ -n "$source" ] || continue
  for attempt in 1 2 3 4; do
    echo "importing $source into $registry as $target" >&2
    if az acr import --name "$registry" --source "$source" --image "$target" --force \
      --output none; then
      break
    fi
    [ "$attempt" -lt 4 ] || { echo "scripts/import-images.sh: $source failed 4 times" >&2; exit 1; }
    sleep $((attempt * 20))
  done
  sources+=("$source")
done <<< "$pairs"

# The record the program checks: exactly what was copied.
pulumi config rm --stack "$stack" --path registry.imported >/dev/null 2>&1 || true
for i in "${!sources[@]}"; do
  pulumi config set --stack "$stack" --path "registry.imported[$i]" "${sources[$i]}"
done
echo "recorded ${#sources[@]} images in $stack_file (registry.imported): now \`pulumi up\`" >&2
