#!/usr/bin/env python3
"""Generate Cachet's test PKI (see README.md in this directory).

Run from anywhere: `python3 tests/vectors/pki/make.py`. Needs Python `cryptography` >= 42.
The outputs are committed; tests never regenerate them. Keys are fresh on every run, dates and
serial numbers are fixed. Tests verify at 2030-01-01T00:00:00Z.
"""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# AlgorithmIdentifier DER: sha256WithRSAEncryption / sha1WithRSAEncryption, NULL parameters.
SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")


def der_tlv(tag, body):
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


HERE = os.path.dirname(os.path.abspath(__file__))
P12_PASSWORD = b"test"


def d(y, m=1, day=1):
    return datetime.datetime(y, m, day, tzinfo=datetime.timezone.utc)


_serial = [0x1000]


def next_serial():
    _serial[0] += 1
    return _serial[0]


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def new_key(kind):
    if kind == "rsa2048":
        return rsa.generate_private_key(65537, 2048)
    if kind == "rsa4096":
        return rsa.generate_private_key(65537, 4096)
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def sign_hash(issuer_key, hash_alg=None):
    """The hash argument for Certificate.sign: None for Ed25519, SHA-256 unless told."""
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        return None
    return hash_alg or hashes.SHA256()


def name(cn, org=None, email=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def make_ca(subject, key, issuer_cert, issuer_key, not_before, not_after, path_length):
    pub = key.public_key()
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(pub)
        .serial_number(next_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    )
    signer = issuer_key or key
    if issuer_cert is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return b.sign(signer, sign_hash(signer))


def leaf_key_usage(key, digital_signature=True, non_repudiation=True, key_encipherment=None,
                   key_agreement=None):
    if key_encipherment is None:
        key_encipherment = isinstance(key, rsa.RSAPrivateKey)
    if key_agreement is None:
        key_agreement = isinstance(key, ec.EllipticCurvePrivateKey)
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


DEFAULT = object()


def make_leaf(
    cn,
    email,
    key,
    issuer_cert,
    issuer_key,
    not_before=d(2025, 6, 1),
    not_after=d(2035, 6, 1),
    key_usage=DEFAULT,
    eku=DEFAULT,
    san=True,
    subject_email=True,
    hash_alg=None,
):
    pub = key.public_key()
    b = (
        x509.CertificateBuilder()
        .subject_name(name(cn, email=email if subject_email else None))
        .issuer_name(issuer_cert.subject)
        .public_key(pub)
        .serial_number(next_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if key_usage is DEFAULT:
        key_usage = leaf_key_usage(key)
    if key_usage is not None:
        b = b.add_extension(key_usage, critical=True)
    if eku is DEFAULT:
        eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san and email:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
        )
    return b.sign(issuer_key, sign_hash(issuer_key, hash_alg))


def save(stem, cert, key=None):
    write(stem + ".pem", cert_pem(cert))
    if key is not None:
        write(stem + ".key", key_pem(key))


def save_p12(stem, cert, key, chain):
    data = pkcs12.serialize_key_and_certificates(
        stem.encode(),
        key,
        cert,
        chain,
        serialization.BestAvailableEncryption(P12_PASSWORD),
    )
    write(stem + ".p12", data)


def main():
    # Anchors and intermediate.
    root_key = new_key("rsa2048")
    root = make_ca(
        name("Cachet Test Root CA", org="Cachet Tests"),
        root_key, None, None, d(2025), d(2045), None,
    )
    save("root-ca", root, root_key)

    inter_key = new_key("p256")
    inter = make_ca(
        name("Cachet Test Intermediate CA"), inter_key, root, root_key, d(2025), d(2040), 0
    )
    save("inter-ca", inter, inter_key)
    write("chain.pem", cert_pem(inter))

    # Valid leaves, each with a .p12 (key, leaf, inter-ca; password "test").
    leaves = [
        ("alice-rsa", "Alice", "alice@example.org", "rsa2048"),
        ("alice-rsa4096", "Alice", "alice@example.org", "rsa4096"),
        ("alice-p256", "Alice", "alice@example.org", "p256"),
        ("alice-p384", "Alice", "alice@example.org", "p384"),
        ("alice-ed25519", "Alice", "alice@example.org", "ed25519"),
        ("bob-rsa", "Bob", "bob@example.org", "rsa2048"),
        ("bob-p256", "Bob", "bob@example.org", "p256"),
    ]
    keys = {}
    for stem, cn, email, kind in leaves:
        key = new_key(kind)
        keys[stem] = key
        cert = make_leaf(cn, email, key, inter, inter_key)
        save(stem, cert, key)
        save_p12(stem, cert, key, [inter])

    # Negatives and edge cases, all issued by inter-ca unless noted, for alice@example.org.
    alice = "alice@example.org"

    def neg(stem, **kw):
        key = kw.pop("key", None) or new_key("rsa2048")
        issuer_cert = kw.pop("issuer_cert", inter)
        issuer_key = kw.pop("issuer_key", inter_key)
        cn = kw.pop("cn", "Alice " + stem)
        email = kw.pop("email", alice)
        cert = make_leaf(cn, email, key, issuer_cert, issuer_key, **kw)
        save(stem, cert, key)
        return cert, key

    neg("expired", not_before=d(2020), not_after=d(2021))
    neg("not-yet-valid", not_before=d(2036), not_after=d(2039))
    neg("eku-server", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    ku_keyenc = leaf_key_usage(
        None, digital_signature=False, non_repudiation=False, key_encipherment=True,
        key_agreement=False,
    )
    neg("ku-keyenc", key_usage=ku_keyenc)
    neg("no-eku", eku=None)
    neg("any-eku", eku=[ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])
    neg("no-email", email=None)
    neg("legacy-email", san=False)

    # A second, untrusted root and a leaf under it.
    other_key = new_key("rsa2048")
    other = make_ca(
        name("Cachet Other Root CA", org="Cachet Tests"),
        other_key, None, None, d(2025), d(2045), None,
    )
    save("other-root-ca", other, other_key)
    neg("untrusted-leaf", issuer_cert=other, issuer_key=other_key)

    # A CA under inter-ca (pathlen:0 forbids it) and a leaf under that.
    sub_key = new_key("p256")
    sub = make_ca(
        name("Cachet Test Sub CA"), sub_key, inter, inter_key, d(2025), d(2040), None
    )
    save("sub-ca", sub, sub_key)
    neg("pathlen-leaf", issuer_cert=sub, issuer_key=sub_key)

    # Issued by the alice-rsa end-entity (no CA:true).
    alice_rsa = x509.load_pem_x509_certificate(
        open(os.path.join(HERE, "alice-rsa.pem"), "rb").read()
    )
    neg("not-ca-issued", issuer_cert=alice_rsa, issuer_key=keys["alice-rsa"])

    # Signed with sha1WithRSAEncryption, directly by the root. `cryptography` refuses to make
    # SHA-1 certificates, so build a SHA-256 one and re-sign its TBS with SHA-1 by hand.
    sha256_cert, sha1_key = neg("sha1-leaf", issuer_cert=root, issuer_key=root_key)
    tbs = sha256_cert.tbs_certificate_bytes
    assert tbs.count(SHA256_RSA) == 1
    tbs = tbs.replace(SHA256_RSA, SHA1_RSA)
    sig = root_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    der = der_tlv(0x30, tbs + SHA1_RSA + der_tlv(0x03, b"\x00" + sig))
    sha1_cert = x509.load_der_x509_certificate(der)
    root_key.public_key().verify(sig, sha1_cert.tbs_certificate_bytes, padding.PKCS1v15(),
                                 hashes.SHA1())
    save("sha1-leaf", sha1_cert, sha1_key)


def load(stem):
    with open(os.path.join(HERE, stem + ".pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    key_path = os.path.join(HERE, stem + ".key")
    key = None
    if os.path.exists(key_path):
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
    return cert, key


def extras():
    """Files added after the first set; they only read the existing CAs, so running this alone
    (`make.py extras`) leaves every other file as it is."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    root, root_key = load("root-ca")
    inter, inter_key = load("inter-ca")
    alice, _ = load("alice-rsa")
    bob, _ = load("bob-p256")
    _serial[0] = 0x2000

    # Bundles: a certs-only PKCS#7 (DER and PEM) and a PEM file with several certificates.
    bundle = [alice, inter, root]
    write("bundle.p7b", pkcs7.serialize_certificates(bundle, serialization.Encoding.DER))
    write("bundle.p7b.pem", pkcs7.serialize_certificates(bundle, serialization.Encoding.PEM))
    write("bundle.pem", b"".join(cert_pem(c) for c in [alice, bob, inter, root]))

    # Mixed-case address in SAN and subject.
    key = new_key("p256")
    cert = make_leaf("Alice Smith", "Alice.Smith@Example.ORG", key, inter, inter_key)
    save("mixed-case", cert, key)

    # Two CAs that issued each other, and a leaf under one of them: path building must stop.
    a_key, b_key = new_key("p256"), new_key("p256")
    a_name, b_name = name("Cachet Loop CA A"), name("Cachet Loop CA B")

    def cross(subject, key, issuer_name, issuer_key):
        pub = key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(pub)
            .serial_number(next_serial())
            .not_valid_before(d(2025))
            .not_valid_after(d(2040))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )

    save("loop-ca-a", cross(a_name, a_key, b_name, b_key))
    save("loop-ca-b", cross(b_name, b_key, a_name, a_key))
    a_cert = x509.load_pem_x509_certificate(open(os.path.join(HERE, "loop-ca-a.pem"), "rb").read())
    leaf_key = new_key("p256")
    save("loop-leaf", make_leaf("Alice loop", "alice@example.org", leaf_key, a_cert, a_key),
         leaf_key)

    # A CA under the root with critical nameConstraints (permitted: example.org mailboxes),
    # which Cachet does not process, and a leaf under it.
    nc_key = new_key("p256")
    nc_pub = nc_key.public_key()
    nc = (
        x509.CertificateBuilder()
        .subject_name(name("Cachet Constrained CA"))
        .issuer_name(root.subject)
        .public_key(nc_pub)
        .serial_number(next_serial())
        .not_valid_before(d(2025))
        .not_valid_after(d(2040))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.NameConstraints(permitted_subtrees=[x509.RFC822Name("example.org")],
                                 excluded_subtrees=None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(nc_pub), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    save("nc-ca", nc, nc_key)
    leaf_key = new_key("p256")
    save("nc-leaf", make_leaf("Alice nc", "alice@example.org", leaf_key, nc, nc_key), leaf_key)


def x25519_leaf():
    """carol-x25519: an X25519 (RFC 8410) key-agreement leaf for RFC 8418 envelopes. An X25519 key
    cannot sign its own request, so inter-ca issues it from the public key alone. Only reads the
    existing CAs: `make.py x25519` leaves every other file as it is."""
    inter, inter_key = load("inter-ca")
    _serial[0] = 0x3000
    key = x25519.X25519PrivateKey.generate()
    ku = leaf_key_usage(key, digital_signature=False, non_repudiation=False,
                        key_encipherment=False, key_agreement=True)
    cert = make_leaf("Carol", "carol@example.org", key, inter, inter_key, key_usage=ku)
    save("carol-x25519", cert, key)
    # Python's pkcs12 writer refuses X25519 keys; OpenSSL 3 writes the same PBES2/AES-256 form.
    import subprocess

    f = lambda n: os.path.join(HERE, n)  # noqa: E731
    subprocess.run(
        ["openssl", "pkcs12", "-export", "-in", f("carol-x25519.pem"), "-inkey",
         f("carol-x25519.key"), "-certfile", f("inter-ca.pem"), "-name", "carol-x25519",
         "-passout", "pass:test", "-out", f("carol-x25519.p12")],
        check=True,
    )


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["x25519"]:
        x25519_leaf()
    else:
        if sys.argv[1:] != ["extras"]:
            main()
        extras()
