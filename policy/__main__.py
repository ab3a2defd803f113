"""Entry point of the aidbox-secrets policy pack: `pulumi preview --policy-pack policy`.

Constructing PolicyPack starts the analyzer's gRPC server and blocks, so nothing may import
this file: the validators and policies live in the package rules/, which tests import.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import POLICIES

PolicyPack(
    name="aidbox-secrets",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
