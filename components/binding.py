"""What every secret store hands to one reader (settings/managed.py `Reader`: Aidbox, or the
database) for its SecretProviderClass and its pods. A store makes one binding per reader, each
listing the reader's secrets only and naming the identity (Vault role, federated identity) the
store lets read exactly those; where the store cannot tell readers apart (Key Vault through the
kubelet's, the add-on's or a service principal's identity), the bindings share it and only
their SecretProviderClasses differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class StoreBinding:
    provider: str  # SecretProviderClass spec.provider
    mount_dir: str  # where the pod mounts the CSI volume, and the vault config points
    parameters: pulumi.Output[dict[str, str]]  # SecretProviderClass spec.parameters
    # What the reader's pods need: ServiceAccount annotations, pod labels, and the Secret
    # named by the CSI volume's nodePublishSecretRef (service-principal mode only).
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    node_publish_secret: str | None = None
    # Resources the SecretProviderClass and the pod must wait for (provider, role, grants).
    ready: Sequence[pulumi.Resource] = ()
    # False while the store cannot serve secrets yet (an `ha` Vault before its one-time init):
    # the SecretProviderClass and Aidbox wait for a later `pulumi up`.
    configured: bool = True
    # Stack outputs that describe the store.
    exports: Mapping[str, pulumi.Input[object]] = field(default_factory=dict)
