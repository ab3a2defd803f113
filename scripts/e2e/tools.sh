#!/usr/bin/env bash
# Builds the pinned servers of the end-to-end run, once, into a cache outside the repository:
#   ${AIDBOX_SECRETS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/aidbox-secrets/tools}/
#     e2e-<wrapper>-<version>/   (e2e-etcd-v3.6.16, e2e-kubernetes-v1.37.2, e2e-vault-v1.21.0)
# (the cache root of scripts/tools.sh, whose Helm this reuses), from the Go module proxy:
#   etcd                                     go.etcd.io/etcd/server/v3  (scripts/e2e/etcd)
#   kube-apiserver, kube-controller-manager  k8s.io/kubernetes          (scripts/e2e/kubernetes)
#   vault                                    github.com/hashicorp/vault (scripts/e2e/vault)
#   pulumi                                   github.com/pulumi/pulumi/pkg/v3 (scripts/e2e/pulumi)
#   pulumi-resource-kubernetes               github.com/pulumi/pulumi-kubernetes/provider/v4
#                                            (scripts/e2e/pulumi-kubernetes; its go.mod says how)
# Each comes from a wrapper module under scripts/e2e/ whose go.mod pins the version and repeats
# the upstream `replace` directives with published modules (go install refuses modules that
# carry replaces), and whose go.sum pins every checksum; the versions live there, not here.
# A tool is rebuilt only when its wrapper's go.mod, go.sum or linker flags change (a stamp).
# One tool at a time, `go build -p 2 -trimpath -ldflags='-s -w ...'`, so a 2-core machine stays
# usable.
# Measured on 2 cores (Go 1.26.8), cold (empty tool cache, Go build and module caches,
# downloads included), while other jobs kept the load average at 5-7: Helm 3 min (scripts/
# tools.sh), etcd 1 min, kube-apiserver + kube-controller-manager 8.5 min, vault 15.5 min,
# the Pulumi CLI 5.5 min, the Kubernetes provider 19 min: about 52 minutes in all, within CI's
# 90 with the suite and the run. Warm (everything cached): 0.1 s.
# Prints `name: path` for each tool. Needs Go 1.26+ unless everything is already cached.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="${AIDBOX_SECRETS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/aidbox-secrets/tools}"

# The version of `module` that the wrapper's go.mod requires.
required_version() {
  local wrapper="$1" module="$2" version
  version="$(awk -v m="$module" '($1 == "require" && $2 == m) { print $3 } ($1 == m && $2 ~ /^v/) { print $2 }' \
    "$here/$wrapper/go.mod")"
  if [ -z "$version" ]; then
    echo "scripts/e2e/tools.sh: $wrapper/go.mod does not require $module" >&2
    exit 1
  fi
  echo "$version"
}

# Builds each `name=package` of the wrapper module, linked with `-s -w` and the extra linker
# flags $3, into $tools/e2e-<wrapper>-<version>/name unless the binaries there were built from
# the same go.mod, go.sum and flags; prints the directory. With $prepare set, the build runs in
# a folder that function fills from the wrapper (its argument) instead of the wrapper itself.
build() {
  local wrapper="$1" version="$2" ldflags="-s -w $3" dir stamp tmp target src cached=1
  shift 3
  dir="$tools/e2e-$wrapper-$version"
  stamp="$( (cat "$here/$wrapper/go.mod" "$here/$wrapper/go.sum" && echo "$ldflags") |
    sha256sum | cut -d' ' -f1)"
  for target in "$@"; do
    [ -x "$dir/${target%%=*}" ] || cached=0
  done
  if [ "$cached" = 1 ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$dir"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "scripts/e2e/tools.sh: Go 1.26+ is needed to build $wrapper $version" >&2
    exit 1
  fi
  echo "building $wrapper $version into $dir (go build, minutes the first time)" >&2
  mkdir -p "$tools"
  # Built beside the cache and moved in whole: an interrupted build leaves no half a tool.
  tmp="$(mktemp -d "$tools/.e2e-$wrapper.XXXXXX")"
  # build runs in a command substitution: these traps are its own.
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # GOTOOLCHAIN=local: no toolchain download; GOWORK=off: only the wrapper's go.mod counts.
  src="$here/$wrapper"
  if [ -n "${prepare:-}" ]; then
    src="$tmp/src"
    mkdir "$src"
    "$prepare" "$src" || exit 1
  fi
  for target in "$@"; do
    if ! (cd "$src" && GOTOOLCHAIN=local GOWORK=off go build -p 2 -trimpath \
      -ldflags="$ldflags" -o "$tmp/${target%%=*}" "${target#*=}"); then
      echo "scripts/e2e/tools.sh: building ${target#*=} $version failed (see above)" >&2
      exit 1
    fi
  done
  rm -rf "$tmp/src"
  echo "$stamp" >"$tmp/.stamp"
  chmod 755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  echo "$dir"
}

helm="$("$here/../tools.sh" | sed -n 's/^helm: //p')"
etcd_dir="$(build etcd "$(required_version etcd go.etcd.io/etcd/server/v3)" "" \
  etcd=go.etcd.io/etcd/server/v3)"
# The version the API server reports (/version, which clients such as the Pulumi provider read)
# is stamped by Kubernetes' own build scripts; without it, it reports v0.0.0-master.
k8s_version="$(required_version kubernetes k8s.io/kubernetes)"
k8s_minor="${k8s_version#v*.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags=""
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags="$k8s_ldflags -X $package.gitVersion=$k8s_version -X $package.gitMajor=1"
  k8s_ldflags="$k8s_ldflags -X $package.gitMinor=$k8s_minor -X $package.gitTreeState=clean"
done
kubernetes_dir="$(build kubernetes "$k8s_version" "$k8s_ldflags" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager)"
vault_dir="$(build vault "$(required_version vault github.com/hashicorp/vault)" "" \
  vault=github.com/hashicorp/vault)"
pulumi_version="$(required_version pulumi github.com/pulumi/pulumi/pkg/v3)"
pulumi_dir="$(build pulumi "$pulumi_version" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
  pulumi=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"

# The Kubernetes provider's build folder: the wrapper's go.mod and go.sum, the provider module
# (checked against the sum pinned in go.sum) as ./provider, and the two files its release embeds.
k8s_provider=github.com/pulumi/pulumi-kubernetes/provider/v4
k8s_provider_version="$(required_version pulumi-kubernetes "$k8s_provider")"
prepare_kubernetes_provider() {
  local dst="$1" pinned info
  cp "$here/pulumi-kubernetes/go.mod" "$here/pulumi-kubernetes/go.sum" "$dst/"
  pinned="$(awk -v m="$k8s_provider" -v v="$k8s_provider_version" \
    '$1 == m && $2 == v { print $3 }' "$dst/go.sum")"
  info="$(cd "$dst" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off \
    go mod download -json "$k8s_provider@$k8s_provider_version")" || return 1
  if [ -z "$pinned" ] || [ "$(json_field Sum <<<"$info")" != "$pinned" ]; then
    echo "scripts/e2e/tools.sh: $k8s_provider@$k8s_provider_version does not match go.sum" >&2
    return 1
  fi
  cp -R "$(json_field Dir <<<"$info")" "$dst/provider"
  chmod -R u+w "$dst/provider"
  # What generate.go does at release: the schema with its version set, both files compacted.
  (cd "$dst/provider/cmd/pulumi-resource-kubernetes" && python3 -c '
import json, sys
schema = json.load(open("schema.json"))
schema["version"] = sys.argv[1]
json.dump(schema, open("schema-embed.json", "w"), separators=(",", ":"))
mapping = json.load(open("terraform-mapping.json"))
json.dump(mapping, open("terraform-mapping-embed.json", "w"), separators=(",", ":"))
' "${k8s_provider_version#v}")
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
k8s_provider_dir="$(prepare=prepare_kubernetes_provider build pulumi-kubernetes \
  "$k8s_provider_version" \
  "-X $k8s_provider/pkg/version.Version=${k8s_provider_version#v}" \
  pulumi-resource-kubernetes="$k8s_provider/cmd/pulumi-resource-kubernetes")"

echo "helm: $helm"
echo "etcd: $etcd_dir/etcd"
echo "kube-apiserver: $kubernetes_dir/kube-apiserver"
echo "kube-controller-manager: $kubernetes_dir/kube-controller-manager"
echo "vault: $vault_dir/vault"
echo "pulumi: $pulumi_dir/pulumi"
echo "pulumi-resource-kubernetes: $k8s_provider_dir/pulumi-resource-kubernetes"
