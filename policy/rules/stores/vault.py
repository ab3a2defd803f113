"""HashiCorp Vault run by the program: no dev mode on production, no public endpoint, https on
production, and an `ha` Vault's snapshots on production."""

from __future__ import annotations

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from ..common import Check, is_true, is_unknown, production_reason
from ..kubernetes.helm import helm_chart
from ..kubernetes.pods import workload_containers

VAULT_CHART = "vault"
SERVICE_TYPE = "kubernetes:core/v1:Service"
SPC_TYPE = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
CRONJOB_TYPE = "kubernetes:batch/v1:CronJob"
VAULT_POD_LABEL = ("app.kubernetes.io/name", "vault")
SNAPSHOT_COMMAND = "operator raft snapshot save"


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


def _vault_address(check: Check) -> object:
    """Where pods or the CSI provider reach Vault: the chart's external address, or a
    SecretProviderClass's vaultAddress; None for anything else."""
    if check.args.resource_type == SPC_TYPE:
        provider = check.get(check.args.props, "spec", "provider")
        if is_unknown(provider) or provider != "vault":
            return provider if is_unknown(provider) else None
        return check.get(check.args.props, "spec", "parameters", "vaultAddress")
    if helm_chart(check) == VAULT_CHART:
        return check.get(check.args.props, "values", "global", "externalVaultAddr")
    return None


def validate_vault_https(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """On production, Vault is reached over https: the chart's global.externalVaultAddr and a
    vault SecretProviderClass's vaultAddress do not start with http://."""
    check = Check(args, report_violation)
    address = _vault_address(check)
    if is_unknown(address):
        check.undecided(address)
    elif isinstance(address, str) and address.strip().lower().startswith("http://"):
        reason = production_reason(check)
        if reason is not None:
            field = (
                "spec.parameters.vaultAddress"
                if args.resource_type == SPC_TYPE
                else "values.global.externalVaultAddr"
            )
            check.violation(
                f"{field} is '{address}', plain http on a production stack ({reason}): the "
                "Vault token and every secret read cross the network in the clear; use https://"
            )
    check.finish()


def _as_args(resource: PolicyResource, args: StackValidationArgs) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource.resource_type,
        resource.props,
        resource.urn,
        resource.name,
        resource.opts,
        resource.provider,
        args.get_config(),
        args.stack_tags,
    )


def _runs_snapshots(check: Check) -> bool:
    for container in workload_containers(check):
        words = []
        for field in ("command", "args"):
            for _, word in check.elements(container.value, field):
                if is_unknown(word):
                    check.undecided(word)
                elif isinstance(word, str):
                    words.append(word)
        # A shell script may spread the command over words and continued lines.
        script = " ".join(words).replace("\\\n", " ")
        if SNAPSHOT_COMMAND in " ".join(script.split()):
            return True
    return False


def validate_vault_ha_snapshots(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """On production, a Vault chart in HA mode comes with a CronJob that runs `vault operator
    raft snapshot save`: Raft snapshots are an HA Vault's only backup."""
    undecided = None
    releases, snapshots = [], False
    for resource in args.resources:
        check = Check(_as_args(resource, args), lambda message, urn=None: None)
        if helm_chart(check) == VAULT_CHART:
            ha = check.get(resource.props, "values", "server", "ha", "enabled")
            if is_unknown(ha):
                check.undecided(ha)
            elif is_true(ha) and production_reason(check) is not None:
                releases.append((resource, production_reason(check)))
        elif resource.resource_type == CRONJOB_TYPE:
            snapshots = snapshots or _runs_snapshots(check)
        try:
            check.finish()
        except Exception as error:  # an unknown input: decide at `up`, when it is known
            undecided = undecided or error
    if snapshots:
        return
    if undecided is not None:  # an HA flag or a job's script unknown until `up`
        raise undecided
    for resource, reason in releases:
        report_violation(
            f"kubernetes:helm.sh/v3:Release '{resource.name}': values.server.ha.enabled is "
            f"true on a production stack ({reason}) and no CronJob runs `vault "
            f"{SNAPSHOT_COMMAND}`: Raft snapshots are an HA Vault's only backup "
            "(vault.snapshots)",
            resource.urn,
        )
