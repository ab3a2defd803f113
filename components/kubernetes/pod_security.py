"""Pod Security Admission: the labels that make the API server enforce a Pod Security Standard
on a namespace, and the `restricted` standard's rules as a pure check of a pod spec (the rules
of https://kubernetes.io/docs/concepts/security/pod-security-standards/, baseline's included),
so every pod template the program declares or a vendored chart renders is tested against it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..aks_versions import DEFAULT_MINOR

LABEL = "pod-security.kubernetes.io"
REASON_ANNOTATION = "aidbox-secrets/pod-security-reason"
# The standard as of the minor the program's clusters run (a newer version than the API server
# is read as its latest).
VERSION = f"v{DEFAULT_MINOR}"
# restricted: only these volume types.
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
# baseline: sysctls that are namespaced and isolated.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def namespace_labels(level: str = "restricted") -> dict[str, str]:
    """Enforce `level`; audit and warn at restricted, so what a weaker level lets through still
    shows in the audit log and as a warning to whoever applies it."""
    labels = {f"{LABEL}/enforce": level, f"{LABEL}/enforce-version": VERSION}
    for mode in ("audit", "warn"):
        labels |= {f"{LABEL}/{mode}": "restricted", f"{LABEL}/{mode}-version": VERSION}
    return labels


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in CONTAINER_LISTS:
        for container in spec.get(kind) or []:
            yield f"{kind}[{container.get('name', '?')}]", container


def _effective(container: Mapping[str, Any], pod: Mapping[str, Any], key: str) -> Any:
    own = (container.get("securityContext") or {}).get(key)
    return own if own is not None else pod.get(key)


def restricted_problems(spec: Mapping[str, Any]) -> list[str]:
    """Every way the pod spec breaks the restricted standard (empty: it complies)."""
    problems = []
    pod = spec.get("securityContext") or {}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            problems.append(f"{host} is true")
    for volume in spec.get("volumes") or []:
        kinds = [k for k in volume if k != "name"]
        if any(k not in RESTRICTED_VOLUMES for k in kinds):
            problems.append(f"volume {volume.get('name')} is {kinds} (allowed: restricted types)")
    for sysctl in pod.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl.get('name')} is not a safe one")
    if ((pod.get("seLinuxOptions") or {}).keys()) & {"user", "role"}:
        problems.append("pod seLinuxOptions sets user or role")
    if pod.get("runAsUser") == 0:
        problems.append("the pod runs as user 0")
    pod_seccomp = (pod.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in SECCOMP_TYPES:
        problems.append(f"pod seccompProfile is {pod_seccomp}")
    for where, container in _containers(spec):
        problems += [f"{where}: {p}" for p in _container_problems(container, pod, pod_seccomp)]
    return problems


def _container_problems(
    container: Mapping[str, Any], pod: Mapping[str, Any], pod_seccomp: str | None
) -> list[str]:
    found = []
    context = container.get("securityContext") or {}
    if context.get("privileged"):
        found.append("privileged")
    if context.get("allowPrivilegeEscalation") is not False:
        found.append("allowPrivilegeEscalation is not false")
    if context.get("procMount") not in (None, "Default"):
        found.append(f"procMount {context.get('procMount')}")
    if (context.get("windowsOptions") or {}).get("hostProcess"):
        found.append("a Windows host process")
    if ((context.get("seLinuxOptions") or {}).keys()) & {"user", "role"}:
        found.append("seLinuxOptions sets user or role")
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        found.append("capabilities do not drop ALL")
    added = [c for c in capabilities.get("add") or [] if c != "NET_BIND_SERVICE"]
    if added:
        found.append(f"adds capabilities {added}")
    if _effective(container, pod, "runAsNonRoot") is not True:
        found.append("runAsNonRoot is not true (container or pod)")
    if context.get("runAsUser") == 0:
        found.append("runs as user 0")
    seccomp = (context.get("seccompProfile") or {}).get("type") or pod_seccomp
    if seccomp not in SECCOMP_TYPES:
        found.append(f"seccompProfile is {seccomp} (RuntimeDefault or Localhost, pod or container)")
    if any(port.get("hostPort") for port in container.get("ports") or []):
        found.append("uses a hostPort")
    return found
