#!/usr/bin/env bash
# Builds the pinned tools the tests run for real, once, into a cache outside the repository:
#   ${AIDBOX_SECRETS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/aidbox-secrets/tools}
# Helm: v3.20.2, the Helm that pulumi-kubernetes 4.x embeds (helm.sh/helm/v3), built from the
# Go module proxy with `go install` (about 3 minutes cold on 2 cores, nothing when cached).
# PostgreSQL's server programs (initdb, pg_ctl, postgres) for tests/test_db_role.py: Debian's
# `postgresql` package, installed with apt-get when missing (as root; otherwise it says how).
# BusyBox, whose ash is Alpine's /bin/sh, for the tests that run Aidbox's start script
# (tests/shells.py, beside dash): Debian's `busybox` package, the same way.
# Prints the path of each tool. Needs Go 1.24+ unless the tool is already cached.
set -euo pipefail
HELM_VERSION=v3.20.2
tools="${AIDBOX_SECRETS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/aidbox-secrets/tools}"
helm_dir="$tools/helm-$HELM_VERSION"
if [ ! -x "$helm_dir/helm" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "scripts/tools.sh: Go is needed to build Helm $HELM_VERSION (or put helm ${HELM_VERSION%.*}.x on PATH)" >&2
    exit 1
  fi
  echo "building helm $HELM_VERSION into $helm_dir (go install, a few minutes the first time)" >&2
  GOBIN="$helm_dir" GOFLAGS=-trimpath go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
echo "helm: $helm_dir/helm"
newest_initdb() { find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1; }
pg_initdb=$(newest_initdb || true)
if [ -z "$pg_initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL's server programs (apt-get install postgresql)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_initdb=$(newest_initdb)
  else
    echo "scripts/tools.sh: PostgreSQL's server programs are needed: apt-get install postgresql" >&2
    exit 1
  fi
fi
echo "postgres: $(dirname "$pg_initdb")"
if ! command -v busybox >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing BusyBox (apt-get install busybox)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox >/dev/null
  else
    echo "scripts/tools.sh: BusyBox is needed for the start-script tests: apt-get install busybox" >&2
    exit 1
  fi
fi
echo "busybox: $(command -v busybox)"
