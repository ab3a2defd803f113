"""The containers of a workload: where each kind keeps its pod spec, and walking it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..common import Check, is_unknown

# Kubernetes kinds that carry a pod spec, and where it is.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers")


@dataclass(frozen=True)
class Container:
    name: str
    path: str  # e.g. spec.template.spec.containers[0]
    value: Any  # the container mapping

    @property
    def label(self) -> str:
        return f"container '{self.name}' ({self.path})"


def pod_spec(check: Check) -> tuple[Any, str] | None:
    path = POD_SPEC_PATHS.get(check.args.resource_type)
    if path is None:
        return None
    spec = check.get(check.args.props, *path)
    if is_unknown(spec):
        check.undecided(spec)
        return None
    if not isinstance(spec, Mapping):
        return None
    return spec, ".".join(path)


def pod_containers(check: Check, pod: Any, pod_path: str) -> Iterator[Container]:
    for list_name in CONTAINER_LISTS:
        for index, container in check.elements(pod, list_name):
            if is_unknown(container):
                check.undecided(container)
                continue
            if not isinstance(container, Mapping):
                continue
            name = check.get(container, "name", default="?")
            yield Container(
                name=name if isinstance(name, str) else "?",
                path=f"{pod_path}.{list_name}[{index}]",
                value=container,
            )


def workload_containers(check: Check) -> Iterator[Container]:
    """Every container of the resource's pod spec; none when it has no pod spec."""
    found = pod_spec(check)
    if found is not None:
        yield from pod_containers(check, *found)
