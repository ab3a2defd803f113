"""Container registries on production: the AKS baseline's (Premium with a private endpoint, no
admin user, no anonymous pull, no public network access)."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import AZURE_NATIVE_TYPE, is_unknown, production_check, show

REGISTRY_TYPE = re.compile(AZURE_NATIVE_TYPE.format(module="containerregistry", name="Registry"))
# (path, wanted, why): a missing value is Azure's default, which is the unsafe one for the last
# two (public network access Enabled, admin user off by default but stated).
WANTED = (
    (("sku", "name"), "Premium", "the tier with private endpoints"),
    (("adminUserEnabled",), False, "the admin user is a shared password; pull with AcrPull"),
    (("anonymousPullEnabled",), False, "anyone could pull the images"),
    (("publicNetworkAccess",), "Disabled", "the nodes pull through the private endpoint"),
)


def validate_container_registry(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = production_check(args, report_violation, REGISTRY_TYPE)
    if not found:
        return
    check, reason = found
    for path, wanted, why in WANTED:
        value = check.get(args.props, *path)
        if is_unknown(value):
            check.undecided(value)
        elif value != wanted and not (value is None and wanted is False):
            check.violation(
                f"{'.'.join(path)} is {show(value)} on a production registry ({reason}); it "
                f"must be {show(wanted)}: {why}"
            )
    check.finish()
