"""Ed25519 for QQ's webhook, through ``cryptography``: the key from the bot secret, verifying and signing.

Every rule here is bot-docs ``interface-framework/sign`` ("安全和授权"):

- Key: "根据开发者平台的 Bot Secret 值进行repeat操作得到签名32字节的 seed": the secret (its
  UTF-8 bytes, as Go's ``len`` counts them) repeated until it has at least 32 bytes, the
  first 32 bytes as the Ed25519 seed. The docs' demo (secret ``naOC0ocQE3shWLAfffVLB1rhYPG7``,
  public key ``[215 195 98 254 ...]``) and the op 13 example of ``interface-framework/event-emit``
  (secret ``DG5g3B4j9X2KOErG``) are this module's test vectors.
- Verifying: ``X-Signature-Ed25519`` hex-decoded must be 64 bytes with ``sig[63]&224 == 0``,
  then Ed25519-verified over ``X-Signature-Timestamp`` + the raw HTTP body.
- Signing (op 13): Ed25519 over ``event_ts`` + ``plain_token``, hex-encoded
  (``interface-framework/event-emit``, "回调地址及事件监听配置").

The secret is the signing key: it is held only as the key object, never logged, never in a
``repr`` or an exception message.
"""

from __future__ import annotations

import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from qqgate.core.webhook import Signature

SEED_BYTES = 32
SIGNATURE_BYTES = 64


def signing_seed(secret: str) -> bytes:
    """The 32-byte Ed25519 seed of ``secret`` (repeated until long enough, then cut).

    Raises ValueError for an empty secret (the message does not contain it).
    """
    raw = secret.encode("utf-8")
    if not raw:
        raise ValueError("the bot secret is empty")
    while len(raw) < SEED_BYTES:
        raw += raw
    return raw[:SEED_BYTES]


class Signer:
    """The bot's webhook key pair: ``verify`` callbacks, ``sign`` op 13 answers.

    ``Signer(secret)``; raises ValueError for an empty secret. ``public_key_hex`` is safe to
    show (it identifies the key without revealing it). Thread-safe: the key objects are
    immutable.
    """

    __slots__ = ("_private", "_public", "public_key_hex")

    def __init__(self, secret: str) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(signing_seed(secret))
        self._public: Ed25519PublicKey = self._private.public_key()
        self.public_key_hex = self._public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def __repr__(self) -> str:
        return f"Signer(public_key={self.public_key_hex[:16]}...)"

    def verify(self, timestamp: str | None, body: bytes, signature_hex: str | None) -> str:
        """The verdict on one callback, a ``core.webhook.Signature`` value; never raises."""
        if not signature_hex or timestamp is None:
            return Signature.MISSING
        try:
            signature = binascii.unhexlify(signature_hex.strip())
        except (binascii.Error, ValueError):
            return Signature.MALFORMED
        if len(signature) != SIGNATURE_BYTES or signature[63] & 224:
            return Signature.MALFORMED
        try:
            self._public.verify(signature, timestamp.encode("utf-8") + body)
        except (InvalidSignature, UnicodeEncodeError):
            return Signature.INVALID
        return Signature.VALID

    def sign(self, message: bytes) -> str:
        """The hex Ed25519 signature of ``message``."""
        return self._private.sign(message).hex()

    def sign_validation(self, event_ts: str, plain_token: str) -> str:
        """The op 13 answer's ``signature``: hex Ed25519 over ``event_ts`` + ``plain_token``."""
        return self.sign(event_ts.encode("utf-8") + plain_token.encode("utf-8"))
