"""`vault.snapshots`: an `ha` Vault's scheduled Raft snapshots to Azure Blob storage."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reader import Section

# Kubernetes CronJob schedules: five cron fields, or one of the macros its parser knows.
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELD = re.compile(r"^(?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?$")
SCHEDULE_RULE = (
    "a CronJob schedule: five cron fields (minute hour day-of-month month day-of-week, in UTC, "
    f"e.g. '17 * * * *' for hourly) or one of {list(CRON_MACROS)}"
)
MAX_RETENTION_DAYS = 3650
BLOB_ZONE = "privatelink.blob.core.windows.net"
_BLOB_ZONE_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/"
    rf"Microsoft\.Network/privateDnsZones/{re.escape(BLOB_ZONE)}$",
    re.IGNORECASE,
)
BLOB_ZONE_RULE = (
    f"the resource id of the private DNS zone {BLOB_ZONE}, /subscriptions/<id>/resourceGroups/"
    f"<group>/providers/Microsoft.Network/privateDnsZones/{BLOB_ZONE}"
)


@dataclass(frozen=True)
class SnapshotSettings:
    enabled: bool = True
    # Hourly, off the full hour: the RPO of a store whose rotations are done by hand.
    schedule: str = "17 * * * *"
    retention_days: int = 30  # the lifecycle rule deletes older snapshots
    # cluster.mode existingAks: a privatelink.blob zone the network already resolves through.
    private_dns_zone_id: str | None = None


def is_schedule(text: str) -> bool:
    """A schedule Kubernetes' CronJob accepts (robfig/cron's standard parser). Pure."""
    if text.startswith("@"):
        return text in CRON_MACROS
    fields = text.split()
    return len(fields) == 5 and all(
        all(_CRON_FIELD.match(part) for part in field.split(",")) for field in fields
    )


def parse_snapshots(vault: Section) -> SnapshotSettings:
    s = vault.section("snapshots")
    s.reject_unknown(("enabled", "schedule", "retentionDays", "privateDnsZoneId"))
    d = SnapshotSettings()
    schedule = s.string("schedule", d.schedule) or d.schedule
    if not is_schedule(schedule):
        s.fail("schedule", schedule, SCHEDULE_RULE)
    zone = s.string("privateDnsZoneId")
    if zone is not None and not _BLOB_ZONE_ID.match(zone):
        s.fail("privateDnsZoneId", zone, BLOB_ZONE_RULE)
    return SnapshotSettings(
        enabled=s.boolean("enabled", d.enabled),
        schedule=schedule,
        retention_days=s.integer(
            "retentionDays", d.retention_days, minimum=1, maximum=MAX_RETENTION_DAYS
        ),
        private_dns_zone_id=zone,
    )
