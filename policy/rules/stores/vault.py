"""HashiCorp Vault run by the program: no dev mode on production, no public endpoint."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import Check, is_true, is_unknown, production_reason
from ..kubernetes.helm import helm_chart

VAULT_CHART = "vault"
SERVICE_TYPE = "kubernetes:core/v1:Service"
VAULT_POD_LABEL = ("app.kubernetes.io/name", "vault")


def validate_vault_dev_mode(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = Check(args, report_violation)
    if helm_chart(check) == VAULT_CHART:
        reason = production_reason(check)
        if reason is not None:
            dev = check.get(args.props, "values", "server", "dev", "enabled")
            if is_unknown(dev):
                check.undecided(dev)
            elif is_true(dev):
                check.violation(
                    f"values.server.dev.enabled is true on a production stack ({reason}); "
                    "a dev-mode Vault keeps its data in memory, unsealed, behind a root token"
                )
    check.finish()


def validate_vault_no_load_balancer(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Vault's API never gets a public endpoint: no LoadBalancer Service selecting Vault's pods,
    and no LoadBalancer in the Vault chart's values (server.service.type, ui.serviceType)."""
    check = Check(args, report_violation)
    if args.resource_type == SERVICE_TYPE:
        kind = check.get(args.props, "spec", "type")
        label, value = VAULT_POD_LABEL
        selected = check.get(args.props, "spec", "selector", label)
        if is_unknown(kind) or is_unknown(selected):
            check.undecided(kind if is_unknown(kind) else selected)
        elif kind == "LoadBalancer" and selected == value:
            check.violation(
                f"a LoadBalancer Service selects Vault's pods ({label}={value}): Vault's API is "
                "reached through the Kubernetes API server's service proxy, never a public "
                "endpoint"
            )
    elif helm_chart(check) == VAULT_CHART:
        for path in (("server", "service", "type"), ("ui", "serviceType")):
            kind = check.get(args.props, "values", *path)
            if is_unknown(kind):
                check.undecided(kind)
            elif kind == "LoadBalancer":
                check.violation(
                    f"values.{'.'.join(path)} is LoadBalancer: Vault's API is reached through "
                    "the Kubernetes API server's service proxy, never a public endpoint"
                )
    check.finish()
