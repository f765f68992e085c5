"""Configuring connected systems: the checks a configuration must pass before it is saved, and
the save itself (secrets sealed, rotation, an audit entry naming what changed, never values)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from collections.abc import Mapping as MappingType
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from core import outbound

from . import db_connector, http_connector, vault
from .mapping import Mapping, parse_mapping
from .models import ConnectedSystem, Kind
from .services import KIND_REQUEST_TYPES, audit_system

MIN_SECRET_LENGTH = 32
MAX_SECRET_LENGTH = 200

PING_PROBLEMS = {
    "timeout": "it did not answer within the timeout",
    "connection_error": "nothing answers at that address",
    "http_401": "it refused the signature (401): does it have this shared secret and key id?",
    "http_404": "there is no connector endpoint at that URL (404)",
    "unexpected_answer": 'it answered, but not with {"status": "ok"}',
    "result_too_large": "its answer was far too large",
    "address_refused": "the outbound address policy refused the address it resolved to",
}


def suggested_secret() -> str:
    """A fresh random shared secret to offer staff (shown in the form, stored only if used)."""
    return secrets.token_urlsafe(32)


def validate_secret(secret: str) -> None:
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise ValidationError(
            f"A shared secret has {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters."
        )
    if not secret.isascii() or not secret.isprintable() or " " in secret:
        raise ValidationError("A shared secret is printable ASCII without spaces.")


def validate_request_types(kind: str, request_types: Iterable[str]) -> None:
    unsupported = sorted(set(request_types) - KIND_REQUEST_TYPES.get(kind, frozenset()))
    if unsupported:
        raise ValidationError(
            f"A {Kind(kind).label} cannot carry out: {', '.join(unsupported)}. A database "
            "mapping exports and erases; use an HTTP connector or a manual task for the rest."
        )


def check_address(url: str) -> None:
    """The URL under the outbound address policy; ValidationError naming the rule."""
    try:
        outbound.check_url(url)
    except outbound.AddressRefused as refused:
        raise ValidationError(
            f"{refused} To call a host on the portal's own network on purpose, name it in "
            "OUTBOUND_ALLOWED_HOSTS (docs/operations.md, Security model)."
        ) from None
    except outbound.HostUnresolved:
        raise ValidationError("The host name does not resolve.") from None


def check_http(url: str, *, secret: str, key_id: str, timeout: float) -> None:
    """The address policy, then the signed health ping of the protocol; ValidationError
    saying what went wrong (the rule, or what the protocol expected: never other answers)."""
    check_address(url)
    try:
        http_connector.ping(url, secret=secret, key_id=key_id, timeout=timeout)
    except http_connector.PingFailed as exc:
        if exc.code == "address_refused":
            check_address(url)  # resolved elsewhere this time: say which rule refuses it
        problem = PING_PROBLEMS.get(exc.code, "it did not answer as the connector protocol asks")
        raise ValidationError(
            f"The system did not pass the signed health check at {url}: {problem}."
        ) from None


def check_database(
    dsn: str,
    mapping_data: Any,
    *,
    identifiers: Iterable[str],
    categories: Iterable[str],
    sample: MappingType[str, str] | None = None,
) -> tuple[Mapping, db_connector.DryRunReport]:
    """The mapping's shape, then a read-only dry run against the target database."""
    db_connector.check_dsn(dsn)
    mapping = parse_mapping(mapping_data, identifiers=identifiers)
    unknown = sorted(mapping.categories - set(categories))
    if unknown:
        raise ValidationError(
            f"The mapping uses categories the system does not list: {', '.join(unknown)}."
        )
    return mapping, db_connector.dry_run(dsn, mapping, sample=sample)


@transaction.atomic
def connected_system_save(
    *,
    system: ConnectedSystem,
    actor: User,
    changed: Iterable[str] = (),
    new_secret: str = "",
    drop_previous_secret: bool = False,
    new_dsn: str = "",
) -> ConnectedSystem:
    """Save a system's configuration (already checked by the caller's form).

    A new secret becomes the current one and the current one the previous (both are accepted
    until the previous is dropped). Secrets and DSNs are sealed; the audit entry names the
    fields that changed, never their values.
    """
    if not actor.has_perm(
        "connectors.change_connectedsystem" if system.pk else "connectors.add_connectedsystem"
    ):
        raise PermissionDenied("Only a privacy officer can configure connected systems.")
    creating = system.pk is None
    names = set(changed)
    if new_secret:
        validate_secret(new_secret)
        if system.secret_encrypted:
            system.previous_secret_encrypted = system.secret_encrypted
            system.previous_secret_version = system.secret_version
        system.secret_encrypted = vault.seal(new_secret)
        system.secret_version += 1
        names.add("secret")
    if drop_previous_secret and system.previous_secret_encrypted:
        system.previous_secret_encrypted = ""
        system.previous_secret_version = None
        names.add("previous_secret")
    if new_dsn:
        system.dsn_encrypted = vault.seal(new_dsn)
        names.add("dsn")
    system.full_clean(exclude=["purposes"])
    system.save()
    audit_system(
        system,
        "connector.system_created" if creating else "connector.system_changed",
        actor,
        fields=sorted(names),
    )
    return system


def system_keys(system: ConnectedSystem) -> dict[str, str]:
    """Key id -> secret for every secret the system may sign with (current and previous)."""
    keys = {}
    if system.secret_encrypted:
        keys[system.key_id] = vault.unseal(system.secret_encrypted)
    previous = system.previous_key_id
    if previous:
        keys[previous] = vault.unseal(system.previous_secret_encrypted)
    return keys
