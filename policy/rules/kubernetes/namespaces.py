"""Namespaces the program creates: Pod Security Admission enforces a standard on each, and
anything weaker than `restricted` says why."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import Check, is_unknown, show

NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
ENFORCE = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
REASON = "aidbox-secrets/pod-security-reason"


def validate_namespace_pod_security(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != NAMESPACE_TYPE:
        return
    check = Check(args, report_violation)
    level = check.get(args.props, "metadata", "labels", ENFORCE)
    if is_unknown(level):
        check.undecided(level)
    elif level not in LEVELS:
        check.violation(
            f"label {ENFORCE} is {show(level)}; set one of {list(LEVELS)} (restricted where the "
            "pods allow it): without it the namespace admits any pod"
        )
    elif level != "restricted":
        reason = check.get(args.props, "metadata", "annotations", REASON)
        if is_unknown(reason):
            check.undecided(reason)
        elif not (isinstance(reason, str) and reason.strip()):
            check.violation(
                f"enforces {show(level)}, weaker than restricted, with no annotation {REASON} "
                "saying which pod needs it and why"
            )
    check.finish()
