"""Secrets at rest (shared secrets, DSNs, a job's identifiers): Fernet with FIELD_ENCRYPTION_KEYS,
the keys and rotation that protect MFA secrets (accounts/adapters.py; docs/operations.md). The
sealing itself is the ground floor's (core.crypto); connectors name it here."""

from __future__ import annotations

from core.crypto import SealedValueUnreadable, seal, unseal

__all__ = ["SealedValueUnreadable", "seal", "unseal"]
