"""E-mails to a close relative about their case, at the address they confirmed.

Everything the engine would tell "the requester" of a relative's request comes here instead
(the requests app asks `notify_relative_of_request` first, through its representatives port):
the deceased's own address is never written to about it. Bodies carry no personal data: what
happened, the case's reference, a link where there is one, and the reason when a case is
refused.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core import mail
from core.crypto import unseal
from requests_dsar import selectors
from requests_dsar.models import DenialReason, LegalExemption, Status

from . import services as cases
from .downloads import relative_download_url_for
from .models import RelativeAsk, RelativeCase

KINDS = frozenset(
    {"code", "received", "approved", "denied", "copy_ready", "deleted", "extended", "closed"}
)
# What a refusal means, in words for the relative.
DENIAL_TEXT = {
    DenialReason.INSUFFICIENT_VERIFICATION: (
        "The documents did not prove the death or your relationship to the person."
    ),
    DenialReason.NO_MATCH: "No account uses the e-mail address you gave.",
    DenialReason.SUSPECTED_FRAUD: "We could not accept the request as genuine.",
    DenialReason.TOO_MANY_REQUESTS: "The same request was made repeatedly.",
    DenialReason.LEGAL_EXEMPTION: "A legal exemption applies.",
    DenialReason.OTHER: "",
}


def _send(case: RelativeCase, kind: str, context: dict[str, Any]) -> None:
    context = {"reference": case.reference, **context}
    mail.send(f"requests_dsar/email/relative_{kind}", context, case.relative_email)


def send_code(*, case_id: int) -> None:
    """E-mail the case's live code: the one that confirms the relative's address, or (once it
    is confirmed) the one that opens the copy. None once used or expired."""
    case = RelativeCase.objects.filter(pk=case_id, code_expires_at__gt=timezone.now()).first()
    code = unseal(case.code_sealed) if case is not None else ""
    if case is None or not code:
        return
    kind = "copy_code" if case.verified_at is not None else "code"
    _send(case, kind, {"code": code, "minutes": settings.DSAR_CODE_TTL_MINUTES})


def _context(case: RelativeCase, kind: str) -> dict[str, Any] | None:
    """What the e-mail of `kind` says; None when there is nothing to send (any more)."""
    request = case.request
    if kind in ("received", "deleted", "closed"):
        return {}
    if request is None:
        return None
    if kind == "approved":
        return {
            "outcome": case.outcome,
            "copy_refused": case.asked == RelativeAsk.COPY and case.outcome == RelativeAsk.DELETE,
            "deletion_follows": cases.deletion_follows_copy(case.outcome, case.arrangement),
            "follow_up_days": cases.follow_up_delay().days,
        }
    if kind == "denied":
        exemption = LegalExemption(request.legal_exemption).label if request.legal_exemption else ""
        return {
            "reason": DENIAL_TEXT.get(DenialReason(request.denial_reason), ""),
            "exemption": exemption,
            "note": request.denial_note,
        }
    if kind == "extended":
        return {"reason": request.extension_reason, "due": request.due_at}
    if kind == "copy_ready":
        archive = selectors.live_archive_for(request)
        if archive is None or case.copy_link_sent_at is not None:
            return None
        return {
            "url": settings.PORTAL_URL + relative_download_url_for(archive),
            "expires_at": archive.expires_at,
        }
    return None


def notify_relative(*, case_id: int, kind: str) -> None:
    """Send the relative the e-mail of `kind` about their case (a task: safe to run again)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown relative e-mail {kind!r}.")
    case = RelativeCase.objects.select_related("request").filter(pk=case_id).first()
    if case is None:
        return
    context = _context(case, kind)
    if context is None:
        return
    _send(case, kind, context)
    if kind == "copy_ready":
        # Marked after sending: a crash in between sends the link twice, never not at all.
        RelativeCase.objects.filter(pk=case.pk, copy_link_sent_at__isnull=True).update(
            copy_link_sent_at=timezone.now()
        )


def _kind_for(case: RelativeCase, request_id: int, event: str) -> str | None:
    request = case.request
    if request is None:
        return None
    if request_id == case.erasure_request_id:
        return "deleted" if event == Status.COMPLETED else None
    if event == Status.COMPLETED:
        return "copy_ready" if request.type == RelativeAsk.COPY else "deleted"
    return {
        Status.DENIED: "denied",
        Status.CANCELLED: "closed",
        "extended": "extended",
    }.get(event)


def notify_relative_of_request(*, request_id: int, event: str) -> bool:
    """Tell the relative what the engine would tell the requester. False when the request is
    not a relative's (the engine's own e-mail goes out then); True when handled here."""
    case = (
        RelativeCase.objects.select_related("request")
        .filter(Q(request_id=request_id) | Q(erasure_request_id=request_id))
        .first()
    )
    if case is None:
        return False
    kind = _kind_for(case, request_id, event)
    if kind is not None:
        notify_relative(case_id=case.pk, kind=kind)
    return True
