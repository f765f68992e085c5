"""Notices about requests. Bodies carry no personal data: a greeting, what happened, a link.

A request of an account is told to that account's inbox (notices.notify, which also e-mails
it: request updates are a mandatory category); only a requester without an account gets a
direct e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import staff_addresses_with
from core import mail
from core.crypto import unseal
from notices.models import Category
from notices.services import notify

from .models import DataSubjectRequest, RequestType, Status, VerificationCode
from .selectors import may_follow


def _request_url(request: DataSubjectRequest) -> str:
    return settings.PORTAL_URL + reverse("dsar:detail", args=[request.public_id])


def recipient_for(request: DataSubjectRequest) -> str | None:
    """Where the requester is told: their account's address (never an erased one)."""
    user = request.requester or request.subject
    address = user.email if user is not None else request.contact_email
    if not mail.is_deliverable(address):
        return None
    return address


def _send(template: str, context: dict, to: str | Iterable[str]) -> None:
    mail.send(f"requests_dsar/email/{template}", context, to)


def _update_text(request: DataSubjectRequest, event: str) -> tuple[str, str]:
    """Our own wording for an event of a request: its reference, type and status only."""
    reference, kind, status = (
        request.reference,
        request.get_type_display(),
        request.get_status_display(),
    )
    if event == "received":
        title = f"We received your request {reference}"
    elif event == "message":
        title = f"New message about your request {reference}"
    elif event == "extended":
        title = f"The deadline of your request {reference} is extended"
    else:
        title = f"Your request {reference}: {status}"
    body = (
        f"There is news about your request ({kind}, reference {reference}). "
        f"Its status is now: {status}.\n\n"
        "Its page shows the details, our messages and any results."
    )
    return title, body


def notify_requester(*, request_id: int, event: str) -> None:
    request = (
        DataSubjectRequest.objects.select_related("subject", "requester")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return
    if request.type == RequestType.DELETE and event == Status.COMPLETED:
        return  # the erasure engine confirms to the address before erasing it
    account = request.requester or request.subject
    if account is not None and account != request.subject and not may_follow(account, request):
        # A guardian whose guardianship ended (revoked, or the minor came of age) is told no
        # more: the person the request is about is.
        account = request.subject
    if account is not None:
        if not mail.is_deliverable(account.email):
            return  # an erased account: nobody left to tell
        title, body = _update_text(request, event)
        # One transaction: the inbox row and its queued e-mail together, or neither (a retry).
        with transaction.atomic():
            notify(
                user=account,
                category=Category.REQUEST_UPDATES,
                title=title,
                body=body,
                link=reverse("dsar:detail", args=[request.public_id]),
            )
        return
    to = recipient_for(request)
    if to is None:
        return
    _send(
        "request_update",
        {
            "request_type": request.get_type_display(),
            "reference": request.reference,
            "event": event,
            "status": request.get_status_display(),
            "url": _request_url(request),
        },
        to,
    )


def send_verification_code(*, request_id: int) -> None:
    """E-mail the code waiting for the request, if it is still the live one."""
    request = (
        DataSubjectRequest.objects.select_related("subject", "requester")
        .filter(pk=request_id)
        .first()
    )
    if request is None or request.subject is None:
        return
    stored = VerificationCode.objects.filter(request=request, expires_at__gt=timezone.now()).first()
    code = unseal(stored.code_sealed) if stored is not None else ""
    if not code:
        return  # used or expired (a task for a replaced code sends the current one)
    # Whoever filed it proves it is them: the account's owner, or the guardian acting for them.
    person = request.requester or request.subject
    _send(
        "verification_code",
        {"code": code, "minutes": settings.DSAR_CODE_TTL_MINUTES},
        person.email,
    )


def send_erasure_confirmation(
    *, request: DataSubjectRequest, to: Iterable[str], retained: Iterable[tuple[str, str]]
) -> None:
    """Tell the requester their deletion is being carried out, before their address is erased.

    `retained` lists (category label, legal basis) of what is kept: registry text, not values.
    """
    context = {
        "whole_account": not request.scope.get("categories"),
        "reference": request.reference,
        "retained": list(retained),
        "contact_email": settings.COMPANY_CONTACT_EMAIL,
    }
    _send("erasure_done", context, to)


def staff_recipients() -> list[str]:
    return staff_addresses_with("requests_dsar", "view_datasubjectrequest")


def warn_staff(
    *,
    kind: str,
    request_ids: Iterable[int],
    days: int,
    systems: Mapping[int, list[str]] | None = None,
) -> bool:
    """E-mail staff about requests: `due_soon`, `overdue` or `systems_stuck`. `systems` names,
    per request, the connected systems it still waits on (names and statuses, no personal data).
    Returns whether anyone was e-mailed.
    """
    ids = list(request_ids)
    recipients = staff_recipients()
    if not ids or not recipients:
        return False
    context = {
        "kind": kind,
        "days": days,
        "count": len(ids),
        "ids": ids,
        "systems": [
            (request_id, ", ".join(systems[request_id]))
            for request_id in ids
            if systems and systems.get(request_id)
        ],
        "queue_url": settings.PORTAL_URL
        + reverse("admin:requests_dsar_datasubjectrequest_changelist"),
    }
    _send("staff_deadline", context, recipients)
    return True
