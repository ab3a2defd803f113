"""Generated credentials and seed values: one way to make them, always secret, never tied to
another package's provider."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_random as random

from .settings import SecretSpec


def generated_password(name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    return random.RandomPassword(
        name, length=length, special=False, opts=pulumi.ResourceOptions(parent=parent)
    ).result


def seed_value(
    name: str,
    spec: SecretSpec,
    parent: pulumi.Resource,
    seeds: Mapping[str, pulumi.Input[str]] | None = None,
) -> pulumi.Output[str]:
    """What a store secret is created with: the program's own value for a managed secret
    (`seeds`, e.g. a PEM key), the secret config value, else a generated password."""
    if spec.managed:
        if not seeds or spec.name not in seeds:
            raise ValueError(f"no generated value for the managed secret {spec.name}")
        return pulumi.Output.secret(seeds[spec.name])
    if spec.value is not None:
        return spec.value.output()
    return generated_password(f"{name}-{spec.name}-value", parent, length=40)
