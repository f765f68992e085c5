"""The verification steps of each method (see guardianship.verification): email_plus's second
confirmation, a document reviewed by staff, a provider's check.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core import mail
from core.audit import audit_append
from core.uploads import delete_stored, store_encrypted
from guardianship import tasks, verification
from guardianship.flow.common import (
    DOCUMENT_FOLDER,
    GUARDIAN_ROLE,
    SECOND_CONFIRMATION_SENT,
    audit,
    bound_guardianship,
    extend_decision,
    queue_task,
    second_confirmation_sent,
    setting_days,
)
from guardianship.flow.invitation import approval_token
from guardianship.models import GuardianDocument, Guardianship


def guardian_second_confirmation_send(*, guardianship_id: int) -> bool:
    """email_plus: e-mail the second confirmation once its delay has passed. Once: the audit
    entry written after sending is the marker (a crash in between sends it twice, never not)."""
    with transaction.atomic():
        locked = (
            Guardianship.objects.select_for_update()
            .filter(pk=guardianship_id, status=Guardianship.Status.CONFIRMING)
            .first()
        )
        now = timezone.now()
        if (
            locked is None
            or locked.second_confirmation_after is None
            or locked.second_confirmation_after > now
        ):
            return False
        if second_confirmation_sent(locked.pk):
            return False
        link = settings.PORTAL_URL + reverse(
            "guardian_invitation:approve", args=[approval_token(locked)]
        )
        mail.send(
            "accounts/guardian_invitation/email/second_confirmation",
            {"link": link, "days": settings.GUARDIAN_INVITATION_DAYS},
            locked.guardian_email,
        )
        audit_append(
            action=SECOND_CONFIRMATION_SENT,
            actor_user_id=None,
            target_type="accounts.guardianship",
            target_id=locked.pk,
        )
    return True


@transaction.atomic
def guardian_document_upload(
    *, guardianship: Guardianship, guardian: User, upload: UploadedFile
) -> GuardianDocument:
    """document: the guardian's signed consent form or ID, checked by its bytes and stored
    encrypted, waits for a privacy officer's review."""
    locked = bound_guardianship(guardianship, guardian)
    if (
        locked.verification_method != Guardianship.Method.DOCUMENT
        or locked.status != Guardianship.Status.INVITED
    ):
        raise ValidationError("No document is expected for this approval now.")
    stored = store_encrypted(upload, folder=DOCUMENT_FOLDER)
    try:
        document = GuardianDocument.objects.create(
            guardianship=locked,
            **stored.fields(),
        )
        Guardianship.objects.filter(pk=locked.pk).update(status=Guardianship.Status.IN_REVIEW)
        audit(
            "guardian.document_uploaded",
            actor=guardian,
            role=GUARDIAN_ROLE,
            minor_id=locked.minor_id,
            guardianship=locked.pk,
            document=document.pk,
        )
    except Exception:
        delete_stored(stored.storage_name)
        raise
    return document


@transaction.atomic
def guardian_document_review(
    *, document: GuardianDocument, reviewer: User, accepted: bool, note: str = ""
) -> GuardianDocument:
    """A privacy officer accepts or rejects (with a note for the guardian) a document. The file
    is deleted once reviewed; a rejected guardian may upload another."""
    if not accepted and not note.strip():
        raise ValidationError({"review_note": "Say why, for the guardian: they are shown it."})
    locked = GuardianDocument.objects.select_for_update().get(pk=document.pk)
    guardianship = Guardianship.objects.select_for_update().get(pk=locked.guardianship_id)
    if locked.reviewed_at is not None:
        raise ValidationError("This document was already reviewed.")
    if guardianship.status != Guardianship.Status.IN_REVIEW:
        raise ValidationError("This approval no longer waits for a review.")
    now = timezone.now()
    locked.reviewed_at, locked.reviewed_by, locked.accepted = now, reviewer, accepted
    locked.review_note, locked.deleted_at = note.strip(), now
    locked.save(
        update_fields=["reviewed_at", "reviewed_by", "accepted", "review_note", "deleted_at"]
    )
    transaction.on_commit(partial(delete_stored, locked.storage_name))
    if not accepted:
        Guardianship.objects.filter(pk=guardianship.pk).update(status=Guardianship.Status.INVITED)
    extend_decision(guardianship.minor_id, now + setting_days("GUARDIAN_INVITATION_DAYS"))
    audit(
        "guardian.document_reviewed",
        actor=reviewer,
        role="staff",
        minor_id=guardianship.minor_id,
        guardianship=guardianship.pk,
        document=locked.pk,
        accepted=accepted,
    )
    queue_task(
        tasks.send_guardian_email,
        guardianship.pk,
        "document_accepted" if accepted else "document_rejected",
    )
    return locked


def guardian_document_viewed(*, document: GuardianDocument, viewer: User) -> None:
    """Staff opened a guardian's document: audited like every staff view of personal data."""
    audit_append(
        action="guardian.document_viewed",
        actor_user_id=viewer.pk,
        actor_role="staff",
        target_type="accounts.guardiandocument",
        target_id=document.pk,
    )


@transaction.atomic
def guardian_provider_start(*, guardianship: Guardianship, guardian: User, return_url: str) -> str:
    """provider: where to send the guardian for the provider's check."""
    locked = bound_guardianship(guardianship, guardian)
    method = verification.method_of(locked)
    if method.key != Guardianship.Method.PROVIDER or method.is_verified(locked):
        raise ValidationError("No provider check is expected for this approval now.")
    provider = verification.get_provider(method.provider)
    return provider.start(guardianship=locked, return_url=return_url)


@transaction.atomic
def guardian_provider_complete(
    *, guardianship: Guardianship, guardian: User, params: Mapping[str, str]
) -> Guardianship:
    """provider: the guardian came back from the provider; record its reference if verified."""
    locked = bound_guardianship(guardianship, guardian)
    method = verification.method_of(locked)
    if method.key != Guardianship.Method.PROVIDER:
        raise ValidationError("No provider check is expected for this approval.")
    if method.is_verified(locked):
        return locked
    try:
        reference = verification.get_provider(method.provider).complete(
            guardianship=locked, params=params
        )
    except verification.VerificationFailed as exc:
        raise ValidationError(str(exc) or "The provider could not verify you.") from None
    locked.provider_reference = f"{method.provider}:{reference}"[:100]
    locked.save(update_fields=["provider_reference"])
    audit(
        "guardian.provider_verified",
        actor=guardian,
        role=GUARDIAN_ROLE,
        minor_id=locked.minor_id,
        guardianship=locked.pk,
        provider=method.provider,
    )
    return locked
