"""`postgres`: the database Aidbox uses."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Section
from .values import image, quantity

DEFAULT_POSTGRES_IMAGE = "postgres:17.6"


@dataclass(frozen=True)
class PostgresSettings:
    image: str = DEFAULT_POSTGRES_IMAGE
    storage_size: str = "20Gi"


def parse_postgres(top: Section) -> PostgresSettings:
    s = top.section("postgres")
    s.reject_unknown(("image", "storageSize"))
    return PostgresSettings(
        image=image(s, "image", PostgresSettings.image),
        storage_size=quantity(s, "storageSize", PostgresSettings.storage_size, kind="bytes"),
    )
