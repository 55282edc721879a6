"""The QQ side's Ed25519 key for the webhook mode: derived here, independently of the receiver.

The chaos gateway judges qqgate's receiver, so it does not borrow the receiver's key code:
this is its own reading of bot-docs ``interface-framework/sign`` (the bot secret repeated
until it has 32 bytes, the first 32 as the seed; signatures over timestamp + body, hex),
checked against the docs' op 13 example in the tests. The secret stays inside the key
object; nothing here prints it.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class QQKey:
    """Signs callbacks the way QQ does and checks op 13 answers. Raises ValueError on an empty secret."""

    __slots__ = ("_key",)

    def __init__(self, secret: str) -> None:
        seed = secret.encode("utf-8")
        if not seed:
            raise ValueError("the bot secret is empty")
        seed = (seed * (32 // len(seed) + 1))[:32]
        self._key = Ed25519PrivateKey.from_private_bytes(seed)

    def __repr__(self) -> str:
        return "QQKey(<hidden>)"

    def sign(self, timestamp: str, body: bytes) -> str:
        """``X-Signature-Ed25519`` for ``body`` sent at ``timestamp``."""
        return self._key.sign(timestamp.encode("utf-8") + body).hex()

    def answer_is_valid(self, event_ts: str, plain_token: str, signature_hex: object) -> bool:
        """Whether an op 13 answer's ``signature`` signs ``event_ts + plain_token``."""
        if not isinstance(signature_hex, str):
            return False
        try:
            signature = bytes.fromhex(signature_hex)
            self._key.public_key().verify(signature, (event_ts + plain_token).encode("utf-8"))
        except (ValueError, InvalidSignature):
            return False
        return True
