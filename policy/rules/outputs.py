"""Stack outputs: none looks like a credential, by name or by value."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .common import is_list

STACK_TYPE = "pulumi:pulumi:Stack"
# Stack outputs that look like a credential: by name, or by what the value holds.
CREDENTIAL_OUTPUT_NAME = re.compile(
    r"kubeconfig|password|token|credential(?!s?Command$)|private_?key|connection_?string"
    r"|client_?secret|access_?key|sas_?token",
    re.IGNORECASE,
)
CREDENTIAL_VALUE = re.compile(
    r"client-key-data|client-certificate-data|\btoken:\s*\S|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|AccountKey=|SharedAccessSignature=|[?&]sig=",
)


def credential_outputs(outputs: Any) -> list[str]:
    """Names of stack outputs that look like a credential, by name or by value."""
    found = []
    for key in outputs if isinstance(outputs, Mapping) else ():
        try:
            value = outputs[key]
        except UnknownValueError:
            value = None
        by_value = any(CREDENTIAL_VALUE.search(text) for text in _strings(value))
        if CREDENTIAL_OUTPUT_NAME.search(str(key)) or by_value:
            found.append(str(key))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in value:
            yield f"{key}: "  # a kubeconfig-like key (client-key-data) is enough
            try:
                yield from _strings(value[key])
            except UnknownValueError:
                continue
    elif is_list(value):
        for item in value:
            yield from _strings(item)


def validate_no_credential_outputs(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """pulumi/actions sets every stack output on the job (and `pulumi stack output
    --show-secrets` prints them): a credential must never be one, secret or not. The root
    Stack resource's outputs are the stack outputs."""
    for resource in args.resources:
        if resource.resource_type != STACK_TYPE:
            continue
        for key in credential_outputs(resource.props):
            report_violation(
                f"stack output '{key}' looks like a credential; export how to obtain one "
                "(e.g. `az aks get-credentials ...`), never the credential itself",
                resource.urn,
            )
