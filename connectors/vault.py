"""Secrets at rest (shared secrets, DSNs, a job's identifiers): Fernet with FIELD_ENCRYPTION_KEYS,
the keys and rotation that protect MFA secrets (accounts/adapters.py; docs/operations.md)."""

from __future__ import annotations

from cryptography.fernet import InvalidToken

from core.crypto import field_fernet


class SealedValueUnreadable(Exception):
    """Encrypted with a key that is no longer configured, or altered."""


def seal(text: str) -> str:
    return field_fernet().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return field_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SealedValueUnreadable(
            "the value cannot be decrypted with the configured keys"
        ) from exc
