"""E-mails about requests. Bodies carry no personal data: a greeting, what happened, a link."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import send_mail, send_mass_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User

from .models import DataSubjectRequest, RequestType, Status

UNDELIVERABLE_DOMAIN = "@erased.invalid"


def _request_url(request: DataSubjectRequest) -> str:
    return settings.PORTAL_URL + reverse("dsar:detail", args=[request.public_id])


def recipient_for(request: DataSubjectRequest) -> str | None:
    """Where the requester is told: their account's address (never an erased one)."""
    user = request.requester or request.subject
    address = user.email if user is not None else request.contact_email
    if not address or address.endswith(UNDELIVERABLE_DOMAIN):
        return None
    return address


def _send(template: str, context: dict, to: str) -> None:
    context = {"COMPANY_NAME": settings.COMPANY_NAME, **context}
    subject = render_to_string(f"requests_dsar/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"requests_dsar/email/{template}_message.txt", context)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[to])


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


def send_verification_code(*, request_id: int, code: str) -> None:
    request = DataSubjectRequest.objects.select_related("subject").filter(pk=request_id).first()
    if request is None or request.subject is None:
        return
    _send(
        "verification_code",
        {"code": code, "minutes": settings.DSAR_CODE_TTL_MINUTES},
        request.subject.email,
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
    for address in dict.fromkeys(to):
        if address and not address.endswith(UNDELIVERABLE_DOMAIN):
            _send("erasure_done", context, address)


def staff_recipients() -> list[str]:
    permission = Permission.objects.filter(
        codename="view_datasubjectrequest", content_type__app_label="requests_dsar"
    ).first()
    users = User.objects.filter(is_active=True, is_staff=True).filter(
        Q(is_superuser=True) | Q(user_permissions=permission) | Q(groups__permissions=permission)
    )
    return sorted(set(users.values_list("email", flat=True)))


def warn_staff(*, kind: str, request_ids: Iterable[int], days: int) -> None:
    ids = list(request_ids)
    recipients = staff_recipients()
    if not ids or not recipients:
        return
    context = {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "kind": kind,
        "days": days,
        "count": len(ids),
        "ids": ids,
        "queue_url": settings.PORTAL_URL
        + reverse("admin:requests_dsar_datasubjectrequest_changelist"),
    }
    subject = render_to_string("requests_dsar/email/staff_deadline_subject.txt", context).strip()
    body = render_to_string("requests_dsar/email/staff_deadline_message.txt", context)
    send_mass_mail([(subject, body, None, [to]) for to in recipients])
