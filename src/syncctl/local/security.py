"""TLS and SCRAM for the local broker (`syncctl broker --secure`): a private CA, a broker
certificate for 127.0.0.1, and SCRAM-SHA-512 users, generated once into the data dir.

For trying a secured setup and for tests; a production cluster has its own CA and users.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# `admin` is the broker's own identity (inter-broker traffic); the others are for syncctl's
# roles, so that docs/security.md's least-privilege ACLs can be tried one role at a time.
USERS = ("admin", "syncctl-worker", "syncctl-operator", "syncctl-runner")
_VALID_FOR = datetime.timedelta(days=825)


@dataclass(frozen=True)
class LocalSecurity:
    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore_file(self) -> Path:
        return self.directory / "broker.pem"

    @property
    def users_file(self) -> Path:
        return self.directory / "users.json"

    def env_file(self, user: str) -> Path:
        return self.directory / f"{user}.env"

    @classmethod
    def ensure(cls, directory: Path) -> LocalSecurity:
        """Load the CA, certificate and users in `directory`, generating whatever is missing."""
        security = cls(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if not (security.ca_file.is_file() and security.keystore_file.is_file()):
            _write_certificates(security.ca_file, security.keystore_file)
        if not security.users_file.is_file():
            passwords = {user: secrets.token_hex(16) for user in USERS}
            _write_private(security.users_file, json.dumps(passwords, indent=2) + "\n")
        for user in USERS:
            if not security.env_file(user).is_file():
                lines = [f"{key}={value}" for key, value in security.client_env(user).items()]
                _write_private(security.env_file(user), "\n".join(lines) + "\n")
        return security

    def password(self, user: str) -> str:
        return str(json.loads(self.users_file.read_text())[user])

    def scram_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that create every user in the metadata log."""
        arguments = []
        for user in USERS:
            arguments += [
                "--add-scram",
                f"SCRAM-SHA-512=[name={user},password={self.password(user)}]",
            ]
        return arguments

    def broker_properties(self, authorizer: bool = False) -> str:
        """Lines for server.properties: TLS from the generated files, SCRAM on the listener, and
        with `authorizer` ACLs enforced (StandardAuthorizer; admin and the PLAINTEXT controller
        listener's ANONYMOUS principal are super users, everyone else needs ACLs)."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="admin" password="{self.password("admin")}";'
        )
        return "\n".join(
            [
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
                "ssl.keystore.type=PEM",
                f"ssl.keystore.location={self.keystore_file}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={self.ca_file}",
                "ssl.client.auth=none",
                *(
                    [
                        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                        "super.users=User:admin;User:ANONYMOUS",
                        "allow.everyone.if.no.acl.found=false",
                    ]
                    if authorizer
                    else []
                ),
            ]
        )

    def client_env(self, user: str) -> dict[str, str]:
        """The SYNCCTL_KAFKA__* variables that make every syncctl command connect as `user`."""
        return {
            "SYNCCTL_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "SYNCCTL_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
            "SYNCCTL_KAFKA__SASL_USERNAME": user,
            "SYNCCTL_KAFKA__SASL_PASSWORD": self.password(user),
            "SYNCCTL_KAFKA__SSL_CA_LOCATION": str(self.ca_file),
        }

    def client_config(self, user: str = "admin") -> dict[str, str]:
        """librdkafka properties for connecting as `user` (the launcher's own readiness check)."""
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": self.password(user),
            "ssl.ca.location": str(self.ca_file),
        }


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text)


def _write_certificates(ca_file: Path, keystore_file: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syncctl local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID_FOR)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    # Kafka's PEM keystore: the private key (unencrypted PKCS#8) followed by the certificate chain.
    key = broker_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(
        keystore_file, (key + broker_cert.public_bytes(pem) + ca_cert.public_bytes(pem)).decode()
    )
