"""The one mail seam: every e-mail of every app is a template pair sent through here.

A mail is `<template>_subject.txt` and `<template>_message.txt`, rendered with the company's
name and contact address beside the caller's context, in the recipient's language when one is
given, and sent through Django's mail API (the configured backend). Addresses the erasure
engine left behind (`erased-...@erased.invalid`) are never written to. Tests replace this one
seam; production swaps one backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import translation

# The reserved domain of the addresses an erasure leaves (RFC 2606: never delivered).
ERASED_EMAIL_DOMAIN = "erased.invalid"
ERASED_EMAIL_SUFFIX = "@" + ERASED_EMAIL_DOMAIN


def is_deliverable(address: str | None) -> bool:
    """Whether an address may be written to: present, and not one an erasure left."""
    return bool(address) and not str(address).lower().endswith(ERASED_EMAIL_SUFFIX)


def open_connection() -> BaseEmailBackend:
    """A connection to the mail backend, for a caller sending many mails in one go."""
    return get_connection()


def render(
    template: str, context: Mapping[str, Any], *, language: str | None = None
) -> tuple[str, str]:
    """The (subject, body) of `template`, on one line and as written, in `language`."""
    full = {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "COMPANY_CONTACT_EMAIL": settings.COMPANY_CONTACT_EMAIL,
        "contact_email": settings.COMPANY_CONTACT_EMAIL,
        "PORTAL_URL": settings.PORTAL_URL,
        **context,
    }
    with translation.override(language) if language else contextlib.nullcontext():
        subject = render_to_string(f"{template}_subject.txt", full)
        body = render_to_string(f"{template}_message.txt", full)
    return " ".join(subject.split()), body


def send(
    template: str,
    context: Mapping[str, Any],
    to: str | Iterable[str],
    *,
    language: str | None = None,
    connection: BaseEmailBackend | None = None,
) -> int:
    """Render `template` once and send it to each address, one message per recipient (nobody
    sees another's address). Undeliverable addresses are skipped. Returns how many went out.

    Sending errors propagate: callers that retry (tasks, the fan-out) decide what is transient.
    """
    addresses = [to] if isinstance(to, str) else list(to)
    recipients = [a for a in dict.fromkeys(addresses) if is_deliverable(a)]
    if not recipients:
        return 0
    subject, body = render(template, context, language=language)
    return send_rendered(subject, body, recipients, connection=connection)


def send_rendered(
    subject: str,
    body: str,
    recipients: Iterable[str],
    *,
    connection: BaseEmailBackend | None = None,
) -> int:
    """Send an already rendered mail to each deliverable address, over one connection."""
    addresses = [a for a in dict.fromkeys(recipients) if is_deliverable(a)]
    if not addresses:
        return 0
    if connection is not None:
        return sum(
            EmailMessage(subject, body, to=[a], connection=connection).send() for a in addresses
        )
    with get_connection() as opened:
        return sum(EmailMessage(subject, body, to=[a], connection=opened).send() for a in addresses)
