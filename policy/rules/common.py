"""What every rule shares: reading a resource's inputs safely, and what counts as production.

`args.props` are the resource's inputs (camelCase, as the engine sends them); during a preview
some of them may be unknown, and reading one raises `UnknownValueError`. The validators read
through `Check`, which turns an unknown into a value that a rule can skip, so one unknown field
never hides a violation elsewhere in the same resource; when an unknown is what kept a rule from
deciding, the error is raised at the end, and the engine reports "can't run policy during
preview" (advisory) instead of a pass. The same checks run again at `pulumi up`, when the values
are known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

PRODUCTION = "production"
ENVIRONMENT_LABEL = "aidbox-secrets/environment"

AZURE_NATIVE_TYPE = r"^azure-native:{module}(?:/v[0-9a-z]+)?:{name}$"
# The AKS cluster: its production rules (azure/aks.py) and its CSI add-on (kubernetes/csi.py).
MANAGED_CLUSTER_TYPE = re.compile(
    AZURE_NATIVE_TYPE.format(module="containerservice", name="ManagedCluster")
)


@dataclass(frozen=True)
class Unknown:
    """A value that is not known yet (preview); `error` is what reading it raised."""

    error: UnknownValueError


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def has_key(mapping: Any, key: str) -> bool:
    """True if `mapping` has `key`, without reading the value (which may be unknown)."""
    return isinstance(mapping, Mapping) and any(k == key for k in mapping)


def is_true(value: Any) -> bool:
    """Booleans arrive as bools, but Helm values and AKS add-on config often use strings."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def is_number(value: Any) -> bool:
    # Numbers come through protobuf Struct as floats (1000 -> 1000.0).
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Check:
    """One validation of one resource: safe reads, and violations prefixed with the resource."""

    def __init__(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        self.args = args
        self._report = report_violation
        self.where = f"{args.resource_type} '{args.name}'"
        self._undecided: UnknownValueError | None = None

    def get(self, obj: Any, *path: str | int, default: Any = None) -> Any:
        """The value at `path` under `obj`; `default` if absent or null, `Unknown` if unknown."""
        current = obj
        try:
            for key in path:
                if isinstance(key, int):
                    if not is_list(current) or key >= len(current):
                        return default
                elif not has_key(current, key):
                    return default
                current = current[key]
        except UnknownValueError as error:
            return Unknown(error)
        return default if current is None else current

    def elements(self, obj: Any, *path: str) -> Iterator[tuple[int, Any]]:
        """(index, element) of the list at `path`; an unknown list or element yields `Unknown`."""
        value = self.get(obj, *path)
        if is_unknown(value):
            self.undecided(value)
            return
        if not is_list(value):
            return
        for index in range(len(value)):
            yield index, self.get(value, index)

    def undecided(self, value: Unknown) -> None:
        """Record that an unknown value kept a rule from deciding."""
        if self._undecided is None:
            self._undecided = value.error

    def violation(self, message: str) -> None:
        self._report(f"{self.where}: {message}")

    def expect(self, value: Any, wanted: Any, message: str) -> None:
        """A violation with `message` when `value`, once known, is not `wanted` (a bool)."""
        if is_unknown(value):
            self.undecided(value)
        elif value is not wanted:
            self.violation(message)

    def finish(self) -> None:
        if self._undecided is not None:
            raise self._undecided


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def production_reason(check: Check) -> str | None:
    """Why this resource counts as production, or None. Any one signal is enough:
    the policy's config `production: true` (passed with --policy-pack-config), the Azure tag
    `environment: production`, the Kubernetes label `aidbox-secrets/environment: production`,
    or the Pulumi stack tag `environment: production`."""
    config = check.args.get_config() or {}
    if is_true(config.get("production")):
        return "policy config production: true"
    props = check.args.props
    tag = check.get(props, "tags", "environment")
    if isinstance(tag, str) and tag.lower() == PRODUCTION:
        return "tags.environment: production"
    label = check.get(props, "metadata", "labels", ENVIRONMENT_LABEL)
    if isinstance(label, str) and label.lower() == PRODUCTION:
        return f"metadata.labels['{ENVIRONMENT_LABEL}']: production"
    stack_tags = getattr(check.args, "stack_tags", None) or {}
    stack_env = stack_tags.get("environment")
    if isinstance(stack_env, str) and stack_env.lower() == PRODUCTION:
        return "stack tag environment: production"
    return None


def production_check(
    args: ResourceValidationArgs, report_violation: ReportViolation, resource_type: re.Pattern
):
    """(check, reason) for a production resource of `resource_type`, else None."""
    if not resource_type.match(args.resource_type):
        return None
    check = Check(args, report_violation)
    reason = production_reason(check)
    return (check, reason) if reason else None


def stack_resource_check(
    args: StackValidationArgs, resource: PolicyResource, report_violation: ReportViolation
) -> Check:
    """A `Check` of one resource of a stack rule: reads and production as for a resource rule
    (the policy's config, the resource's tags or labels, the stack's tags)."""
    resource_args = ResourceValidationArgs(
        resource.resource_type,
        resource.props,
        resource.urn,
        resource.name,
        resource.opts,
        resource.provider,
        args.get_config(),
        args.stack_tags,
    )
    return Check(resource_args, report_violation)


def show(value: Any) -> str:
    """A value for a message: quoted strings, 'unset' for missing. Never used for env values."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)
