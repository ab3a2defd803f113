"""`aidbox` and `aidboxLicense`: the Aidbox Deployment and the env it reads from the store."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Section, Sensitive, fail
from .secrets import SecretSpec
from .values import image, k8s_object_name, quantity, quantity_value

# Aidbox settings read from env at start-up that may come from the store (a synced Secret).
STORE_ENV = ("BOX_LICENSE", "BOX_ADMIN_PASSWORD", "BOX_ROOT_CLIENT_SECRET")
DEFAULT_AIDBOX_IMAGE = "healthsamurai/aidboxone:2602"


@dataclass(frozen=True)
class AidboxSettings:
    image: str = DEFAULT_AIDBOX_IMAGE
    replicas: int = 1
    service_account: str = "aidbox"
    license: Sensitive | None = None
    legacy_secret_file_env: bool = False
    # env var -> name of a configured secret with a kubernetesSecret, read via secretKeyRef
    env_from_store: tuple[tuple[str, str], ...] = ()
    cpu_request: str = "500m"
    memory_request: str = "2Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"

    @property
    def has_license(self) -> bool:
        return self.license is not None or "BOX_LICENSE" in dict(self.env_from_store)


def parse_aidbox(top: Section, license: Sensitive | None) -> AidboxSettings:
    s = top.section("aidbox")
    s.reject_unknown(
        (
            "image",
            "replicas",
            "serviceAccount",
            "legacySecretFileEnv",
            "envFromStore",
            "cpuRequest",
            "memoryRequest",
            "cpuLimit",
            "memoryLimit",
        )
    )
    d = AidboxSettings
    service_account = k8s_object_name(s, "serviceAccount", d.service_account)
    if service_account == "default":
        s.fail(
            "serviceAccount",
            service_account,
            "a ServiceAccount of Aidbox's own (the program creates it; 'default' is the "
            "namespace's own account)",
        )
    settings = AidboxSettings(
        image=image(s, "image", d.image),
        replicas=s.integer("replicas", d.replicas, minimum=1, maximum=20),
        service_account=service_account,
        license=license,
        legacy_secret_file_env=s.boolean("legacySecretFileEnv", d.legacy_secret_file_env),
        env_from_store=tuple(
            (env, s.section("envFromStore").required_string(env, "a secret name"))
            for env in s.section("envFromStore").data
        ),
        cpu_request=quantity(s, "cpuRequest", d.cpu_request, kind="cpu"),
        memory_request=quantity(s, "memoryRequest", d.memory_request, kind="bytes"),
        cpu_limit=quantity(s, "cpuLimit", d.cpu_limit, kind="cpu"),
        memory_limit=quantity(s, "memoryLimit", d.memory_limit, kind="bytes"),
    )
    pairs = (
        ("cpuRequest", settings.cpu_request, "cpuLimit", settings.cpu_limit),
        ("memoryRequest", settings.memory_request, "memoryLimit", settings.memory_limit),
    )
    for request_key, request, limit_key, limit in pairs:
        if quantity_value(request) > quantity_value(limit):  # type: ignore[operator]
            s.fail(
                request_key,
                request,
                f"at most {s.key(limit_key)} ({limit!r}): Kubernetes refuses a request above "
                "its limit",
            )
    return settings


def check_env_from_store(aidbox: AidboxSettings, secrets: tuple[SecretSpec, ...]) -> None:
    synced = {spec.name for spec in secrets if spec.kubernetes_secret}
    for env, name in aidbox.env_from_store:
        key = f"aidbox.envFromStore.{env}"
        if env not in STORE_ENV:
            fail(f"aidbox.envFromStore.{env}", name, f"env var must be one of {list(STORE_ENV)}")
        if name not in synced:
            fail(key, name, "a secret in `secrets` with a kubernetesSecret (env needs a Secret)")
        if env == "BOX_LICENSE" and aidbox.license is not None:
            fail(key, name, "aidboxLicense is set too: keep the license in one place")
