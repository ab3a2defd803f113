"""Generated credentials and seed values: one way to make them, always secret, never tied to
another package's provider."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from .settings import SecretSpec


def generated_password(name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    return random.RandomPassword(
        name, length=length, special=False, opts=pulumi.ResourceOptions(parent=parent)
    ).result


def seed_value(name: str, spec: SecretSpec, parent: pulumi.Resource) -> pulumi.Output[str]:
    """What a store secret is created with: the secret config value, else a generated one."""
    if spec.value is not None:
        return spec.value.output()
    return generated_password(f"{name}-{spec.name}-value", parent, length=40)
