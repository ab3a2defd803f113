#!/usr/bin/env bash
# Test servers for the end-to-end run, on 127.0.0.1 only, everything under one directory DIR:
# etcd, kube-apiserver (RBAC, default admission, no nodes, no cloud), kube-controller-manager
# (the controllers that fill service-account token Secrets, run the ServiceAccount and
# namespace lifecycle and collect garbage, and those that create the pods of Deployments,
# StatefulSets and Jobs: with no node the pods stay pending, but the API server's admission,
# Pod Security included, judges each one, and the one that lets a deleted claim go) and a dev-mode Vault server (in memory, TLS on loopback with a CA of its
# own, `-dev-tls`), the "external Vault" the program configures. The binaries come from scripts/e2e/tools.sh.
#
#   scripts/e2e/servers.sh start DIR      start all, wait until ready, print DIR/env
#   scripts/e2e/servers.sh stop DIR       stop all (safe to repeat)
#   scripts/e2e/servers.sh run DIR CMD..  start, run CMD with DIR/env exported, always stop
# or, sourced: e2e_servers_start DIR / e2e_servers_stop DIR. start sets EXIT/INT/TERM/HUP traps
# in the calling shell that stop the servers (replacing the caller's own traps on those), and
# leaves a watchdog that stops them if the caller dies without running its traps (kill -9).
#
# DIR/env (source it) exports KUBECONFIG (an admin kubeconfig, client certificate in
# system:masters), E2E_APISERVER, E2E_CA_FILE (the CA of the API server's serving certificate),
# E2E_CLIENT_CERT and E2E_CLIENT_KEY (the admin's, for curl), E2E_SA_ISSUER, VAULT_ADDR (https),
# VAULT_CACERT (the CA Vault generated for its certificate) and E2E_VAULT_TOKEN_FILE. Vault's root token is $E2E_VAULT_TOKEN
# when set, else a random one; it is only ever in DIR/vault-token (mode 0600) and the Vault
# process's environment. Logs: DIR/logs/<server>.log. E2E_START_TIMEOUT (seconds, default 90)
# bounds the wait for each server; on timeout the log's tail is printed and start fails.
# Dev-grade on purpose: etcd without fsync, plain HTTP between etcd and the API server, all on
# loopback, one CA for the Kubernetes side, certificates valid for two days.

e2e_servers_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

e2e_log() { echo "servers.sh: $*" >&2; }

# The tools' paths from tools.sh (which builds what is missing).
e2e_servers_tools() {
  local listing name path
  listing="$("$e2e_servers_here/tools.sh")" || return 1
  while IFS= read -r line; do
    name="${line%%: *}"
    path="${line#*: }"
    case "$name" in
      etcd) E2E_ETCD="$path" ;;
      kube-apiserver) E2E_KUBE_APISERVER="$path" ;;
      kube-controller-manager) E2E_KUBE_CONTROLLER_MANAGER="$path" ;;
      vault) E2E_VAULT="$path" ;;
      helm) E2E_HELM="$path" ;;
      pulumi) E2E_PULUMI="$path" ;;
      pulumi-resource-kubernetes) E2E_KUBERNETES_PROVIDER="$path" ;;
    esac
  done <<<"$listing"
  export E2E_ETCD E2E_KUBE_APISERVER E2E_KUBE_CONTROLLER_MANAGER E2E_VAULT E2E_HELM E2E_PULUMI \
    E2E_KUBERNETES_PROVIDER
}

# Sets the variable named $1 to a TCP port on 127.0.0.1 that nothing listens on and that this
# start has not handed out, below the kernel's ephemeral range (32768 and up) so outgoing
# connections do not take it meanwhile.
e2e_free_port() {
  local port tries=0
  while [ "$tries" -lt 200 ]; do
    tries=$((tries + 1))
    port=$((20000 + RANDOM % 12000))
    case " $e2e_ports_taken " in *" $port "*) continue ;; esac
    if [ -z "$(ss -Htln "( sport = :$port )")" ]; then
      e2e_ports_taken="$e2e_ports_taken $port"
      printf -v "$1" '%s' "$port"
      return
    fi
  done
  e2e_log "no free port found on 127.0.0.1"
  return 1
}

# Writes the CA, the API server's serving certificate, the client certificates and the
# service-account signing key pair into DIR/pki.
e2e_pki() {
  local pki="$1/pki" name subject ext
  mkdir -p "$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=aidbox-secrets-e2e-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  for name in apiserver admin controller-manager; do
    case "$name" in
      apiserver)
        subject="/CN=kube-apiserver"
        ext="subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth" ;;
      admin)
        subject="/O=system:masters/CN=e2e-admin"
        ext="extendedKeyUsage=clientAuth" ;;
      controller-manager)
        subject="/CN=system:kube-controller-manager"
        ext="extendedKeyUsage=clientAuth" ;;
    esac
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
      -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
    printf '%s\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' "$ext" \
      >"$pki/$name.ext"
    openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
      -CAcreateserial -days 2 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
    rm "$pki/$name.csr" "$pki/$name.ext"
  done
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
}

# A kubeconfig for the API server at $2 with the client certificate DIR/pki/$3.
e2e_kubeconfig() {
  local dir="$1" server="$2" user="$3"
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$dir/pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$dir/pki/$user.crt")
    client-key-data: $(base64 -w0 "$dir/pki/$user.key")
contexts:
- name: e2e
  context:
    cluster: e2e
    user: $user
current-context: e2e
EOF
}

# Starts `name` (the remaining arguments: the command) in DIR, in its own session, output to
# DIR/logs/name.log; the process writes its own PID to DIR/run/name.pid before it execs (setsid
# forks when the caller has job control, so $! would not be the server).
e2e_spawn() {
  local dir="$1" name="$2" deadline=$((SECONDS + 10))
  shift 2
  # shellcheck disable=SC2016 # expanded by the inner bash
  (cd "$dir" && exec setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' e2e-spawn \
    "$dir/run/$name.pid" "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &)
  until [ -s "$dir/run/$name.pid" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      e2e_log "$name did not start"
      return 1
    fi
    sleep 0.1
  done
}

# True when process $1 runs: exists and is not a zombie (the servers' parent exits at once, so
# the dead wait for PID 1 to reap them, and kill -0 would count them as running meanwhile).
e2e_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

# True when $2 is the PID of a process started in DIR (its working directory), so a PID file
# left by a dead server never makes stop signal an unrelated process that reuses the number.
e2e_ours() { [ "$(readlink "/proc/$2/cwd" 2>/dev/null)" = "$1" ]; }

# Waits until `check` (the remaining arguments) succeeds, failing with the tail of the log when
# the server exits or E2E_START_TIMEOUT passes.
e2e_wait() {
  local dir="$1" name="$2" pid deadline
  shift 2
  pid="$(cat "$dir/run/$name.pid")"
  deadline=$((SECONDS + ${E2E_START_TIMEOUT:-90}))
  until "$@" >/dev/null 2>&1; do
    if ! e2e_alive "$pid"; then
      e2e_log "$name exited before it was ready; the end of $dir/logs/$name.log:"
      tail -n 40 "$dir/logs/$name.log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      e2e_log "$name not ready after ${E2E_START_TIMEOUT:-90}s; the end of $dir/logs/$name.log:"
      tail -n 40 "$dir/logs/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
  e2e_log "$name ready ($((SECONDS - e2e_started))s)"
}

e2e_curl() { curl --noproxy '*' --silent --fail --max-time 5 "$@"; }

e2e_etcd_healthy() { e2e_curl "$1/health" | grep -q '"health":"true"'; }

e2e_servers_start() {
  local dir="$1" etcd_port peer_port api_port kcm_port vault_port cluster_port api
  local caller="${2:-$$}"
  e2e_started=$SECONDS
  e2e_ports_taken=""
  if [ -e "$dir/run" ]; then
    e2e_log "$dir/run exists: servers already started there (stop them first)"
    return 1
  fi
  e2e_servers_tools || return 1
  umask 077
  mkdir -p "$dir/logs" "$dir/run" "$dir/etcd" "$dir/vault-tls"
  dir="$(cd "$dir" && pwd -P)"
  # Stop whatever did start if the rest fails.
  trap 'e2e_servers_stop "'"$dir"'"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  # The watchdog: stops the servers when the caller dies without running its traps, and leaves
  # by itself once they are stopped (DIR/run removed).
  # shellcheck disable=SC2016 # expanded by the inner bash
  e2e_spawn "$dir" watchdog bash -c 'source "$3"; while e2e_alive "$1" && [ -d "$2/run" ]; do
    sleep 1; done; if [ -d "$2/run" ]; then e2e_servers_stop "$2"; fi' e2e-watchdog "$caller" \
    "$dir" "$e2e_servers_here/servers.sh" || return 1

  e2e_free_port etcd_port && e2e_free_port peer_port && e2e_free_port api_port &&
    e2e_free_port kcm_port || return 1
  # Vault also listens for its cluster on the port after its API port.
  while :; do
    e2e_free_port vault_port || return 1
    cluster_port=$((vault_port + 1))
    if [ -z "$(ss -Htln "( sport = :$cluster_port )")" ]; then
      e2e_ports_taken="$e2e_ports_taken $cluster_port"
      break
    fi
  done
  e2e_pki "$dir" || return 1
  api="https://127.0.0.1:$api_port"
  e2e_kubeconfig "$dir" "$api" admin >"$dir/kubeconfig"
  e2e_kubeconfig "$dir" "$api" controller-manager >"$dir/controller-manager.kubeconfig"
  if [ -n "${E2E_VAULT_TOKEN:-}" ]; then
    printf '%s' "$E2E_VAULT_TOKEN" >"$dir/vault-token"
  else
    printf 'e2e-%s' "$(openssl rand -hex 16)" >"$dir/vault-token"
  fi

  e2e_spawn "$dir" etcd "$E2E_ETCD" --name e2e --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "e2e=http://127.0.0.1:$peer_port" \
    --unsafe-no-fsync --log-level warn
  # Vault starts alongside: it needs nothing from the others.
  VAULT_DEV_ROOT_TOKEN_ID="$(cat "$dir/vault-token")" e2e_spawn "$dir" vault \
    env -u VAULT_ADDR -u VAULT_TOKEN HOME="$dir" "$E2E_VAULT" server -dev -dev-no-store-token \
    -dev-tls -dev-tls-cert-dir="$dir/vault-tls" -dev-listen-address="127.0.0.1:$vault_port"
  e2e_wait "$dir" etcd e2e_etcd_healthy "http://127.0.0.1:$etcd_port" || return 1

  e2e_spawn "$dir" kube-apiserver "$E2E_KUBE_APISERVER" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --endpoint-reconciler-type=none \
    --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" \
    --authorization-mode=RBAC --anonymous-auth=false --allow-privileged=true \
    --service-cluster-ip-range=10.96.0.0/16 \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --profiling=false --v=1
  e2e_wait "$dir" kube-apiserver e2e_curl --cacert "$dir/pki/ca.crt" \
    --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$api/readyz" || return 1

  # Each controller with its own service account (as kubeadm does), so RBAC applies to them as
  # on a real cluster.
  e2e_spawn "$dir" kube-controller-manager "$E2E_KUBE_CONTROLLER_MANAGER" \
    --kubeconfig="$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$dir/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" --cert-dir="$dir/controller-manager" \
    --controllers=serviceaccount-token-controller,serviceaccount-controller,namespace-controller,garbage-collector-controller,deployment-controller,replicaset-controller,statefulset-controller,job-controller,persistentvolumeclaim-protection-controller \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
    --leader-elect=false --profiling=false --v=1
  e2e_wait "$dir" kube-controller-manager e2e_curl --insecure \
    "https://127.0.0.1:$kcm_port/healthz" || return 1
  e2e_wait "$dir" vault e2e_curl --cacert "$dir/vault-tls/vault-ca.pem" \
    "https://127.0.0.1:$vault_port/v1/sys/health" || return 1

  cat >"$dir/env" <<EOF
export KUBECONFIG='$dir/kubeconfig'
export E2E_APISERVER='$api'
export E2E_CA_FILE='$dir/pki/ca.crt'
export E2E_CLIENT_CERT='$dir/pki/admin.crt'
export E2E_CLIENT_KEY='$dir/pki/admin.key'
export E2E_SA_ISSUER='https://kubernetes.default.svc.cluster.local'
export VAULT_ADDR='https://127.0.0.1:$vault_port'
export VAULT_CACERT='$dir/vault-tls/vault-ca.pem'
export E2E_VAULT_TOKEN_FILE='$dir/vault-token'
EOF
  e2e_log "all ready in $((SECONDS - e2e_started))s; source $dir/env"
}

# Stops the servers started in DIR (TERM, then KILL after 15 s).
e2e_servers_stop() {
  local dir="$1" name pidfile pid deadline stopped=$SECONDS
  [ -d "$dir/run" ] || return 0
  dir="$(cd "$dir" && pwd -P)"
  for name in kube-controller-manager kube-apiserver vault etcd watchdog; do
    pidfile="$dir/run/$name.pid"
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    # The watchdog runs stop itself when its caller dies: it must not signal itself.
    if [ "$pid" != "$$" ] && e2e_ours "$dir" "$pid"; then
      # The whole process group (each server leads its own session): children go too.
      kill -TERM -- "-$pid" 2>/dev/null || true
      deadline=$((SECONDS + 15))
      while e2e_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
      if e2e_alive "$pid"; then
        e2e_log "$name did not stop on TERM within 15s; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$pidfile"
  done
  rm -rf "$dir/run"
  e2e_log "stopped in $((SECONDS - stopped))s"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  command="${1:-}"
  dir="${2:-}"
  if [ -z "$dir" ]; then
    echo "usage: $0 start DIR | stop DIR | run DIR COMMAND [ARG...]" >&2
    exit 2
  fi
  case "$command" in
    start)
      # The caller is whoever ran this script: the watchdog follows it, not this process.
      e2e_servers_start "$dir" "$PPID"
      trap - EXIT INT TERM HUP
      cat "$dir/env"
      ;;
    stop) e2e_servers_stop "$dir" ;;
    run)
      shift 2
      e2e_servers_start "$dir"
      # shellcheck source=/dev/null
      source "$dir/env"
      "$@"
      ;;
    *)
      echo "usage: $0 start DIR | stop DIR | run DIR COMMAND [ARG...]" >&2
      exit 2
      ;;
  esac
fi
