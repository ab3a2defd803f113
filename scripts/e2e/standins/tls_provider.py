"""Stand-in for pulumi-tls (5.6.2), E2E ONLY: PrivateKey, SelfSignedCert, CertRequest and
LocallySignedCert.

pulumi-tls cannot be built on this machine (neither its provider module nor
terraform-provider-tls is served), so the end-to-end run uses this instead. It makes real keys,
requests and certificates (the `cryptography` package) with the subject, SANs, key usages,
validity and CA flag asked for, keeps the private keys secret and replaces a certificate that
is due for renewal. It cannot show the real provider's own bugs and edge cases (Go's exact
encodings among them), nor bridge behaviour beyond what is implemented here.

Behaviour from terraform-provider-tls v4.2.1, internal/provider/: resource_private_key.go
(every input RequiresReplace; rsa_bits 2048 and ecdsa_curve P224 by default), common_key.go
(setPublicKeyAttributes: id, OpenSSH forms and fingerprints), resource_cert_request.go,
resource_self_signed_cert.go and resource_locally_signed_cert.go (every input RequiresReplace
but early_renewal_hours; PEM inputs through requireReplaceIfStateContainsPEMString, common.go),
common_cert.go (createCertificate; modifyPlanIfCertificateReadyForRenewal and
modifyStateIfCertificateReadyForRenewal) and attribute_plan_modifier_bool/default_value.go
(ReadyForRenewal). pulumi-tls 5.6.2 bridges a later commit (609226f5, May 2026) that adds
write-only `*Wo` inputs; the stand-in refuses those.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .protocol import Failure, Plugin, Prop, Resource, schema

CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
PEM = serialization.Encoding.PEM
KEY_USAGES = {  # common_cert.go keyUsages -> x509.KeyUsage's arguments
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
EXTENDED_KEY_USAGES = {  # common_cert.go extendedKeyUsages
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec_end_system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec_tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec_user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft_server_gated_crypto": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape_server_gated_crypto": x509.ObjectIdentifier("2.16.840.1.113730.4.1"),
    "microsoft_commercial_code_signing": x509.ObjectIdentifier("1.3.6.1.4.1.311.2.1.22"),
    "microsoft_kernel_code_signing": x509.ObjectIdentifier("1.3.6.1.4.1.311.61.1.1"),
}
# pkix.Name.ToRDNSequence's order; `emailAddress` goes last, as an extra name.
SUBJECT = [
    ("country", NameOID.COUNTRY_NAME),
    ("province", NameOID.STATE_OR_PROVINCE_NAME),
    ("locality", NameOID.LOCALITY_NAME),
    ("streetAddresses", NameOID.STREET_ADDRESS),
    ("postalCode", NameOID.POSTAL_CODE),
    ("organization", NameOID.ORGANIZATION_NAME),
    ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("commonName", NameOID.COMMON_NAME),
    ("serialNumber", NameOID.SERIAL_NUMBER),
    ("emailAddress", NameOID.EMAIL_ADDRESS),
]
REPLACE = Prop(replace=True)
# requireReplaceIfStateContainsPEMString: a changed PEM input replaces (the state always holds
# a PEM here, and an unknown new value counts as a change).
PEM_INPUT = Prop(replace=True, required=True)


# --- keys ---------------------------------------------------------------------------------------


def generate_key(algorithm: str, rsa_bits: int, curve: str) -> Any:
    if algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if algorithm == "ECDSA":
        return ec.generate_private_key(CURVES[curve]())
    return ed25519.Ed25519PrivateKey.generate()


def key_algorithm(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ECDSA"
    return "ED25519"


def load_key(pem: str) -> Any:
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except ValueError as error:
        raise Failure(f"Failed to parse private key PEM: {error}") from error


def key_outputs(key: Any) -> dict[str, str]:
    """resource_private_key.go Create and common_key.go setPublicKeyAttributes."""
    # PKCS#1 for RSA, SEC 1 for ECDSA (Go's Marshal*PrivateKey), PKCS#8 for ED25519.
    fmt = serialization.PrivateFormat
    traditional = fmt.PKCS8 if key_algorithm(key) == "ED25519" else fmt.TraditionalOpenSSL
    none = serialization.NoEncryption()
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out = {
        "privateKeyPem": key.private_bytes(PEM, traditional, none).decode(),
        "privateKeyPemPkcs8": key.private_bytes(PEM, fmt.PKCS8, none).decode(),
        "publicKeyPem": key.public_key()
        .public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "id": hashlib.sha1(public_der).hexdigest(),  # hashForState
        "privateKeyOpenssh": "",
        "publicKeyOpenssh": "",
        "publicKeyFingerprintMd5": "",
        "publicKeyFingerprintSha256": "",
    }
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp224r1"):
        # x/crypto/ssh has no P-224: those stay empty.
        openssh = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        blob = base64.b64decode(openssh.split()[1])
        md5 = hashlib.md5(blob).hexdigest()
        sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        out |= {
            "privateKeyOpenssh": key.private_bytes(PEM, fmt.OpenSSH, none).decode(),
            "publicKeyOpenssh": openssh.decode() + "\n",
            "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, 32, 2)),
            "publicKeyFingerprintSha256": f"SHA256:{sha256}",
        }
    return out


class PrivateKey(Resource):
    token = "tls:index/privateKey:PrivateKey"
    props = schema(
        algorithm=Prop(replace=True, required=True),
        rsaBits=Prop(replace=True, default=2048),
        ecdsaCurve=Prop(replace=True, default="P224"),
    )
    computed = frozenset(
        {
            "privateKeyPem",
            "privateKeyPemPkcs8",
            "privateKeyOpenssh",
            "publicKeyPem",
            "publicKeyOpenssh",
            "publicKeyFingerprintMd5",
            "publicKeyFingerprintSha256",
        }
    )
    secret_outputs = frozenset({"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"})

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        if inputs["algorithm"] not in ("RSA", "ECDSA", "ED25519"):
            return [("algorithm", "value must be one of: RSA, ECDSA, ED25519")]
        if inputs["ecdsaCurve"] not in CURVES:
            return [("ecdsaCurve", f"value must be one of: {', '.join(CURVES)}")]
        return []

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = generate_key(inputs["algorithm"], inputs["rsaBits"], inputs["ecdsaCurve"])
        out = key_outputs(key)
        return out.pop("id"), {**inputs, **out}


# --- requests and certificates -----------------------------------------------------------------


def subject_name(subject: dict[str, Any] | None) -> x509.Name:
    """common_cert.go createSubjectDistinguishedNames."""
    attributes = []
    for key, oid in SUBJECT:
        value = (subject or {}).get(key)
        for item in value if isinstance(value, list) else [value] if value else []:
            attributes.append(x509.NameAttribute(oid, item))
    return x509.Name(attributes)


def alt_names(inputs: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in inputs.get("ipAddresses") or []]
    names += [x509.UniformResourceIdentifier(u) for u in inputs.get("uris") or []]
    return names


def signature_hash(key: Any) -> hashes.HashAlgorithm | None:
    """What Go's x509 signs with for the key: SHA-256, SHA-384 on P-384, SHA-512 on P-521."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA512()
    return hashes.SHA256()


def validate_certificate_inputs(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    unknown = set(inputs.get("allowedUses") or []) - set(KEY_USAGES) - set(EXTENDED_KEY_USAGES)
    if unknown:
        return [("allowedUses", f"unsupported key usages: {', '.join(sorted(unknown))}")]
    for address in inputs.get("ipAddresses") or []:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return [("ipAddresses", f"Invalid IP address: Failed to parse {address!r}")]
    return []


def ready_for_renewal(state: dict[str, Any], now: datetime | None = None) -> bool:
    """common_cert.go: due once `early_renewal_hours` before the end of validity (and at once
    with a validity of 0 or an early renewal as long as the validity, ReadyForRenewal)."""
    end = datetime.fromisoformat(state["validityEndTime"].replace("Z", "+00:00"))
    early = timedelta(hours=state.get("earlyRenewalHours") or 0)
    return end - early <= (now or datetime.now(UTC))


def sign_certificate(
    inputs: dict[str, Any],
    subject: x509.Name,
    public_key: Any,
    sans: list[x509.GeneralName],
    issuer_key: Any,
    issuer: x509.Certificate | None,
) -> dict[str, Any]:
    """common_cert.go createCertificate (through Go's x509.CreateCertificate)."""
    now = datetime.now(UTC).replace(microsecond=0)
    end = now + timedelta(hours=inputs["validityPeriodHours"])
    serial = secrets.randbits(128)
    uses = inputs.get("allowedUses") or []
    is_ca = bool(inputs.get("isCaCertificate"))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(end)
    )
    if any(u in KEY_USAGES for u in uses):
        flags = {arg: use in uses for use, arg in KEY_USAGES.items()}
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    extended = [EXTENDED_KEY_USAGES[u] for u in uses if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    path_length = inputs.get("maxPathLength")
    path_length = path_length if is_ca and path_length and path_length > 0 else None
    builder = builder.add_extension(x509.BasicConstraints(is_ca, path_length), critical=True)
    if is_ca and not subject:
        raise Failure(
            "Invalid Certificate Subject: Must contain at least one Distinguished Name when "
            "creating Certificate Authority (CA)"
        )
    key_id = x509.SubjectKeyIdentifier.from_public_key(public_key)
    if is_ca or inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(key_id, critical=False)
    authority = None
    if issuer is not None:  # Go takes the AKI from the parent's SKI, if it has one
        with contextlib.suppress(x509.ExtensionNotFound):
            authority = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    elif inputs.get("setAuthorityKeyId"):
        if not (is_ca or inputs.get("setSubjectKeyId")):
            raise Failure("Invalid Certificate Authority: Could not determine Authority Key Id")
        authority = x509.Extension(key_id.oid, False, key_id)
    if authority is not None:
        aki = x509.AuthorityKeyIdentifier(authority.value.digest, None, None)
        builder = builder.add_extension(aki, critical=False)
    if sans:  # critical when the subject is empty (RFC 5280 4.2.1.6)
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=not subject)
    cert = builder.sign(issuer_key, signature_hash(issuer_key))
    return {
        "id": str(serial),
        "certPem": cert.public_bytes(PEM).decode(),
        "validityStartTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validityEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


CERT_PROPS = {
    "validityPeriodHours": Prop(replace=True, required=True),
    "allowedUses": Prop(replace=True, required=True),
    "earlyRenewalHours": Prop(default=0),  # the one input a certificate updates in place
    "isCaCertificate": Prop(replace=True, default=False),
    "maxPathLength": Prop(replace=True, computed=True),
    "setSubjectKeyId": Prop(replace=True, default=False),
}
CERT_OUTPUTS = frozenset({"certPem", "validityStartTime", "validityEndTime", "readyForRenewal"})


class Certificate(Resource):
    """What a self-signed and a locally signed certificate share: renewal."""

    def extra_replaces(self, state: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
        due = {**state, "earlyRenewalHours": inputs.get("earlyRenewalHours", 0)}
        return ["readyForRenewal"] if "validityEndTime" in state and ready_for_renewal(due) else []

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        due = bool(state.get("readyForRenewal")) or ready_for_renewal(state)
        return {**state, "readyForRenewal": due}

    def finish(self, inputs: dict[str, Any], cert: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        validity, early = inputs["validityPeriodHours"], inputs.get("earlyRenewalHours") or 0
        state = {**inputs, **cert, "readyForRenewal": validity == 0 or early >= validity}
        return state.pop("id"), state


class SelfSignedCert(Certificate):
    token = "tls:index/selfSignedCert:SelfSignedCert"
    props = schema(
        privateKeyPem=Prop(replace=True, required=True, secret=True),
        **CERT_PROPS,
        setAuthorityKeyId=Prop(replace=True, default=False),
        subject=REPLACE,
        dnsNames=REPLACE,
        ipAddresses=REPLACE,
        uris=REPLACE,
    )
    computed = CERT_OUTPUTS | {"keyAlgorithm"}

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        return validate_certificate_inputs(inputs)

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = load_key(inputs["privateKeyPem"])
        subject = subject_name(inputs.get("subject"))
        cert = sign_certificate(inputs, subject, key.public_key(), alt_names(inputs), key, None)
        return self.finish({**inputs, "keyAlgorithm": key_algorithm(key)}, cert)


class CertRequest(Resource):
    token = "tls:index/certRequest:CertRequest"
    props = schema(
        privateKeyPem=Prop(replace=True, required=True, secret=True),
        subject=REPLACE,
        dnsNames=REPLACE,
        ipAddresses=REPLACE,
        uris=REPLACE,
    )
    computed = frozenset({"certRequestPem", "keyAlgorithm"})

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        return validate_certificate_inputs(inputs)

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = load_key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(
            subject_name(inputs.get("subject"))
        )
        sans = alt_names(inputs)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        csr = builder.sign(key, signature_hash(key))
        der = csr.public_bytes(serialization.Encoding.DER)
        state = {
            **inputs,
            "keyAlgorithm": key_algorithm(key),
            "certRequestPem": csr.public_bytes(PEM).decode(),
        }
        return hashlib.sha1(der).hexdigest(), state


class LocallySignedCert(Certificate):
    token = "tls:index/locallySignedCert:LocallySignedCert"
    props = schema(
        certRequestPem=PEM_INPUT,
        caCertPem=PEM_INPUT,
        caPrivateKeyPem=Prop(replace=True, required=True, secret=True),
        **CERT_PROPS,
    )
    computed = CERT_OUTPUTS | {"caKeyAlgorithm"}

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        return validate_certificate_inputs(inputs)

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
            ca = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        except ValueError as error:
            raise Failure(f"Failed to parse certificate request or CA PEM: {error}") from error
        ca_key = load_key(inputs["caPrivateKeyPem"])
        try:
            sans = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            sans = []
        cert = sign_certificate(inputs, csr.subject, csr.public_key(), sans, ca_key, ca)
        return self.finish({**inputs, "caKeyAlgorithm": key_algorithm(ca_key)}, cert)


PLUGIN = Plugin(
    name="tls", resources=[PrivateKey(), SelfSignedCert(), CertRequest(), LocallySignedCert()]
)
