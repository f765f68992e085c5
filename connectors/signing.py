"""Signing and checking connector messages (docs/connector-protocol.md, "Signatures").

Every message, either way (a job to a system, a result to the callback), carries three headers:

    X-Portal-Key-Id:     which shared secret signed it ("<system key>.<version>")
    X-Portal-Timestamp:  Unix time in seconds when it was signed
    X-Portal-Signature:  "v1=" + hex HMAC-SHA256(secret, "<timestamp>." + body)

The receiver accepts the current and the previous secret (rotation), and only timestamps within
the replay window of its own clock. Comparison is constant-time. Nothing here touches Django.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

HEADER_KEY_ID = "X-Portal-Key-Id"
HEADER_TIMESTAMP = "X-Portal-Timestamp"
HEADER_SIGNATURE = "X-Portal-Signature"
SCHEME = "v1"
MAX_KEY_ID_LENGTH = 60


class SignatureError(Exception):
    """A message is unsigned, stale, signed with an unknown key, or altered.

    `code` is one of "missing", "malformed", "stale", "unknown_key", "mismatch".
    """

    messages = {
        "missing": "The message is not signed (X-Portal-Key-Id, X-Portal-Timestamp and "
        "X-Portal-Signature are required).",
        "malformed": "The signature headers are malformed.",
        "stale": "The signature's timestamp is outside the replay window.",
        "unknown_key": "The message is signed with an unknown key.",
        "mismatch": "The signature does not match the message.",
    }

    def __init__(self, code: str) -> None:
        super().__init__(self.messages[code])
        self.code = code


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, *, secret: str, key_id: str, now: float | None = None) -> dict[str, str]:
    """The headers that sign `body`."""
    timestamp = int(time.time() if now is None else now)
    return {
        HEADER_KEY_ID: key_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: f"{SCHEME}={compute(secret, timestamp, body)}",
    }


KEY_ID = re.compile(r"[-a-zA-Z0-9_]+\.[0-9]+")


def presented_key_id(headers: Mapping[str, str]) -> str:
    """The key id a message names (SignatureError if absent or implausible)."""
    key_id = headers.get(HEADER_KEY_ID) or ""
    if not key_id:
        raise SignatureError("missing")
    # "<system key>.<version>": a slug and a number, nothing else reaches a query.
    if len(key_id) > MAX_KEY_ID_LENGTH or not KEY_ID.fullmatch(key_id):
        raise SignatureError("malformed")
    return key_id


@dataclass(frozen=True)
class Presented:
    """What a message's headers claim, checked before its body is read: a known key, a fresh
    timestamp and a well-formed signature. The body is then checked against it as it streams
    (`digest`, `matches`), so nothing is buffered before the signature holds."""

    key_id: str
    timestamp: int
    secret: str
    signature: str

    def digest(self) -> hmac.HMAC:
        """A running HMAC over "<timestamp>.", to be fed the body chunk by chunk."""
        return hmac.new(self.secret.encode(), str(self.timestamp).encode() + b".", hashlib.sha256)

    def matches(self, digest: hmac.HMAC) -> bool:
        return hmac.compare_digest(digest.hexdigest(), self.signature)


def check_headers(
    headers: Mapping[str, str],
    *,
    keys: Mapping[str, str],
    window: int,
    now: float | None = None,
) -> Presented:
    """Check everything about a message but its body. Raises SignatureError."""
    key_id = presented_key_id(headers)
    raw_timestamp = headers.get(HEADER_TIMESTAMP) or ""
    raw_signature = headers.get(HEADER_SIGNATURE) or ""
    if not raw_timestamp or not raw_signature:
        raise SignatureError("missing")
    scheme, _sep, presented = raw_signature.partition("=")
    if scheme != SCHEME or len(presented) != 64 or not raw_timestamp.isdigit():
        raise SignatureError("malformed")
    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > window:
        raise SignatureError("stale")
    secret = keys.get(key_id)
    if not secret:
        raise SignatureError("unknown_key")
    return Presented(key_id, timestamp, secret, presented.lower())


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    keys: Mapping[str, str],
    window: int,
    now: float | None = None,
) -> str:
    """Check a message's signature; returns the key id that signed it.

    `keys` maps key ids to secrets (the current and the previous one). Raises SignatureError.
    """
    presented = check_headers(headers, keys=keys, window=window, now=now)
    digest = presented.digest()
    digest.update(body)
    if not presented.matches(digest):
        raise SignatureError("mismatch")
    return presented.key_id


def replay_key(headers: Mapping[str, str]) -> str:
    """What identifies one signed message, for the receiver's replay memory."""
    return hashlib.sha256((headers.get(HEADER_SIGNATURE) or "").encode()).hexdigest()
