"""A throwaway TLS CA and server certificate for loopback servers, and owner-only files.

A new CA is made for each cluster, valid for two days: only clients given its ca.pem trust the
server, so no real certificate authority or long-lived key is involved.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold a secret), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def write_ca_and_server_pem(directory: Path, client_key_password: str | None = None) -> None:
    """A CA (``ca.pem``) and a server certificate it signed for 127.0.0.1 and localhost, with
    the server's key, in one PEM keystore as Kafka reads them (``broker.pem``, 0600), and apart
    as mariadbd's ``--ssl-cert`` / ``--ssl-key`` read them (``server-cert.pem``, ``server-key.pem``).

    The key is not encrypted: Kafka reads only PBES1-encrypted PEM keys, which the cryptography
    package does not write, and a password in a 0600 file beside the key would protect nothing.

    With ``client_key_password``, also a client certificate (CN ``walmart_sync``) the CA signed and
    its key encrypted with that passphrase (``client-cert.pem``, ``client-key.pem``): for MySQL
    accounts created ``REQUIRE X509``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise RuntimeError(
            "the TLS listener needs the cryptography package: pip install cryptography") from None

    now = datetime.now(UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("walmart-sync devstack CA"))
        .issuer_name(name("walmart-sync devstack CA")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    chain = cert.public_bytes(pem) + ca.public_bytes(pem)
    write_private(directory / "broker.pem", (key_pem + chain).decode())
    (directory / "server-cert.pem").write_bytes(chain)
    write_private(directory / "server-key.pem", key_pem.decode())
    if client_key_password is not None:
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = (
            x509.CertificateBuilder().subject_name(name("walmart_sync")).issuer_name(ca.subject)
            .public_key(client_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        (directory / "client-cert.pem").write_bytes(client.public_bytes(pem))
        write_private(directory / "client-key.pem", client_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(client_key_password.encode())).decode())
