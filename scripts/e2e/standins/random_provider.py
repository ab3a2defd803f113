"""Stand-in for pulumi-random (4.21.4), E2E ONLY: `random:index/randomPassword:RandomPassword`.

pulumi-random cannot be built on this machine (neither its provider module nor
terraform-provider-random is served), so the end-to-end run uses this instead. It generates
real passwords as the Terraform provider does and keeps them secret, but it cannot show the real
provider's own bugs and edge cases, nor bridge behaviour beyond what is implemented here.

Behaviour from terraform-provider-random v3.9.0 (f8d869dc, the commit pulumi-random 4.21.x
bridges): internal/provider/resource_password.go (passwordSchemaV3: every input
RequiresReplace, defaults; Create; Read, Update and Delete change nothing) and
internal/random/string.go (CreateString).
"""

from __future__ import annotations

import secrets
from typing import Any

import bcrypt

from .protocol import Plugin, Prop, Resource, schema

NUMERIC, LOWER, UPPER = "0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def create_string(p: dict[str, Any]) -> str:
    """internal/random/string.go CreateString: the minimums of each class first, the rest from
    the whole set, shuffled (crypto/rand)."""
    special = p.get("overrideSpecial") or SPECIAL
    classes = [(UPPER, "upper", "minUpper"), (LOWER, "lower", "minLower")]
    classes += [(NUMERIC, "numeric", "minNumeric"), (special, "special", "minSpecial")]
    chars = "".join(chars for chars, flag, _ in classes if p[flag])
    if not chars:
        raise ValueError("the character set specified is empty")
    result = [secrets.choice(chars) for chars, _, least in classes for _ in range(p[least])]
    result += [secrets.choice(chars) for _ in range(p["length"] - len(result))]
    order = [secrets.randbits(8) for _ in result]
    return "".join(c for _, c in sorted(zip(order, result, strict=True), key=lambda x: x[0]))


def bcrypt_hash(value: str) -> str:
    """resource_password.go generateHash: bcrypt of the first 72 bytes, default cost 10."""
    return bcrypt.hashpw(value.encode()[:72], bcrypt.gensalt(10)).decode()


class RandomPassword(Resource):
    token = "random:index/randomPassword:RandomPassword"
    # `keepers` is RequiresReplaceIfValuesNotNull; `overrideSpecial` RequiresReplace unless it
    # goes from "" to null; the rest RequiresReplace.
    props = schema(
        length=Prop(replace=True, required=True),
        keepers=Prop(replace=True),
        special=Prop(replace=True, default=True),
        upper=Prop(replace=True, default=True),
        lower=Prop(replace=True, default=True),
        numeric=Prop(replace=True, computed=True),
        number=Prop(replace=True, computed=True),
        minNumeric=Prop(replace=True, default=0),
        minUpper=Prop(replace=True, default=0),
        minLower=Prop(replace=True, default=0),
        minSpecial=Prop(replace=True, default=0),
        overrideSpecial=Prop(replace=True),
    )
    computed = frozenset({"result", "bcryptHash"})
    secret_outputs = computed

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        least = sum(inputs[k] for k in ("minUpper", "minLower", "minNumeric", "minSpecial"))
        if inputs["length"] < max(1, least):
            return [("length", f"must be at least 1 and at least {least}, the sum of min_*")]
        return []

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # NumberNumericAttributePlanModifier: `number` and `numeric` follow each other (true).
        numeric = inputs.get("numeric", inputs.get("number", True))
        state = {**inputs, "numeric": numeric, "number": inputs.get("number", numeric)}
        result = create_string(state)
        return "none", {**state, "result": result, "bcryptHash": bcrypt_hash(result)}


PLUGIN = Plugin(name="random", resources=[RandomPassword()])
