"""Fake secrets built at run time from a type's example shape, so no file in the repository
holds a credential-shaped string (push protection, other scanners)."""

from __future__ import annotations

import base64
import datetime
import json
import random
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploysafe.secrets.patterns import TokenType

_ALPHABETS = {
    "an": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "b64": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "b32": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    "dig": "0123456789",
    "al": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "UP": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "bech": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
}
_SLOT = re.compile(r"\{(an|url|hex|HEX|b64|b32|dig|al|UP|bech):(\d+)\}")
# Words the detector treats as placeholder markers must not appear by chance.
_MARKERS = ("fake", "todo", "tbd", "xxxx", "test", "example", "sample", "dummy")


def _random(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if not any(m in s.lower() for m in _MARKERS):
            return s


def expand(shape: str, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = _SLOT.sub(lambda m: _random(rng, _ALPHABETS[m.group(1)], int(m.group(2))), shape)
    return out.replace("\\n", "\n")


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def instance(t: TokenType, seed: int = 7) -> str:
    """A text holding one token of type `t`."""
    rng = random.Random(seed)
    if t.id == "jwt":
        header = _b64url({"alg": "HS256", "typ": "JWT"})
        payload = _b64url({"sub": _random(rng, _ALPHABETS["an"], 12), "iat": 1700000000})
        return f"token: {header}.{payload}.{_random(rng, _ALPHABETS['url'], 43)}"
    if t.id == "docker-config-auth":
        pair = "ci-bot:" + _random(rng, _ALPHABETS["an"], 20)
        auth = base64.b64encode(pair.encode()).decode()
        return json.dumps({"auths": {"registry.shop.internal": {"auth": auth}}})
    return expand(t.example, seed)


def fake_aws_key_id(seed: int = 3) -> str:
    rng = random.Random(seed)
    return "AK" + "IA" + _random(rng, _ALPHABETS["b32"], 16)


def fake_github_token(seed: int = 5) -> str:
    rng = random.Random(seed)
    return "gh" + "p_" + _random(rng, _ALPHABETS["an"], 36)


def certificate_pem(cn: str = "shop-ca") -> str:
    """A self-signed certificate (public material) and nothing else, in PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def private_key_pem() -> str:
    """An EC private key in PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
