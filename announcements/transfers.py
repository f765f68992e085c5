"""Transfer notices: a merger, acquisition or asset transfer, told to every user.

The policy ("When do we transfer", item 5) promises to tell users of such a transaction and,
where the new controller needs it, to obtain new consent. A notice names the new controller and
what changes; when new consent is needed it lists the (optional, consent-based) purposes, and
each user accepts or objects from their inbox. The answer's effect on the consent ledger is
`record_transfer_answer`, registered with `services.on_response("transfer", ...)`: it runs in
the same transaction as the answer itself, so an answer is never recorded without its events.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from consent.models import LegalBasis, Method, Purpose
from consent.services import consent_give, consent_refuse, is_minor, purpose_is_offered
from core.audit import audit_staff_action
from notices import services
from notices.audience import audience_users
from notices.models import Broadcast, Category, Message, Response

from .models import TransferNotice

AUDIENCE = {"kind": "all"}
# What staff may change once the notice is sent: nothing users were told.
NOTICE_FIELDS = frozenset(
    {
        "kind",
        "new_controller",
        "new_controller_contact",
        "what_changes",
        "effective_on",
        "requires_consent",
        "purposes",
    }
)


def askable(purpose: Purpose) -> bool:
    """Only an optional purpose that rests on consent can be accepted or objected to."""
    return purpose.legal_basis == LegalBasis.CONSENT and purpose.is_optional and purpose.active


def askable_purposes() -> list[Purpose]:
    return [p for p in Purpose.objects.filter(active=True) if askable(p)]


def transfer_problems(
    *, requires_consent: bool, purposes: Iterable[Purpose], effective_on: object
) -> dict[str, str]:
    """What is wrong with a notice, by field ({} when nothing is)."""
    purposes = list(purposes)
    problems: dict[str, str] = {}
    if requires_consent and not purposes:
        problems["purposes"] = (
            "Choose the purposes the new controller needs your users' consent for."
        )
    if not requires_consent and purposes:
        problems["purposes"] = (
            "Purposes are asked for only when new consent is needed: tick “requires consent” "
            "or leave the purposes empty."
        )
    wrong = [p.name for p in purposes if not askable(p)]
    if wrong:
        problems["purposes"] = (
            f"Only optional purposes based on consent can be asked for; not: {', '.join(wrong)}."
        )
    if effective_on is not None and effective_on < timezone.localdate():  # type: ignore[operator]
        problems["effective_on"] = "The date is in the past: users are told before a transfer."
    return problems


def _kind_phrase(transfer: TransferNotice) -> str:
    return {
        TransferNotice.Kind.MERGER: "a merger",
        TransferNotice.Kind.ACQUISITION: "an acquisition",
        TransferNotice.Kind.ASSET_TRANSFER: "a transfer of assets",
    }.get(transfer.kind, "a transaction")  # type: ignore[call-overload]


def transfer_notice_title(transfer: TransferNotice) -> str:
    return f"Your information is moving to {transfer.new_controller}"[: services.TITLE_MAX_LENGTH]


def transfer_notice_body(transfer: TransferNotice, purposes: Iterable[Purpose] = ()) -> str:
    effective = date_format(transfer.effective_on, "j F Y")
    contact = (
        f" You can contact them at {transfer.new_controller_contact}."
        if transfer.new_controller_contact
        else ""
    )
    sections = [
        f"As part of {_kind_phrase(transfer)}, {transfer.new_controller} becomes responsible "
        f"for your personal information on {effective}.{contact}",
        f"What changes\n{transfer.what_changes.strip()}",
        f"{transfer.new_controller} must protect your information to standards no lower than "
        "those of our privacy policy.",
    ]
    purposes = list(purposes)
    if transfer.requires_consent and purposes:
        listed = "\n".join(f"- {p.name}: {p.description}" for p in purposes)
        sections.append(
            f"{transfer.new_controller} asks for your consent to:\n{listed}\n\n"
            "Accept or object below. If you object, your consent to these purposes is "
            "withdrawn (or refused) and they stop; you can change your mind at any time in "
            "your consent settings."
        )
    sections.append(f"Questions: write to {settings.COMPANY_CONTACT_EMAIL}.")
    return "\n\n".join(sections)


@transaction.atomic
def transfer_save(
    *,
    transfer: TransferNotice,
    purposes: Iterable[Purpose],
    actor: User | None,
    changed: Iterable[str] = (),
) -> TransferNotice:
    """Record a transfer notice (or change one not sent yet)."""
    purposes = list(purposes)
    created = transfer.pk is None
    changed = set(changed)
    if not created:
        stored = TransferNotice.objects.select_for_update().get(pk=transfer.pk)
        if stored.broadcast_id is not None and changed & NOTICE_FIELDS:
            raise ValidationError("The notice was sent: what users were told cannot change.")
    problems = transfer_problems(
        requires_consent=transfer.requires_consent,
        purposes=purposes,
        effective_on=transfer.effective_on,
    )
    if problems:
        raise ValidationError(problems)
    if created:
        transfer.created_by = actor
        transfer.created_at = timezone.now()
    transfer.save()
    transfer.purposes.set(purposes)
    audit_staff_action(
        action="notices.transfer_declared" if created else "notices.transfer_changed",
        actor=actor,
        target=transfer,
        data={"fields": sorted(changed), "purposes": [p.key for p in purposes]},
    )
    return transfer


def audience_size() -> int:
    return audience_users(AUDIENCE).count()


@transaction.atomic
def transfer_send(*, transfer: TransferNotice, actor: User | None) -> Broadcast:
    """Tell every user of the transfer (a broadcast); they answer from their inbox when new
    consent is needed. Once per notice: a second call returns the first broadcast."""
    locked = TransferNotice.objects.select_for_update().get(pk=transfer.pk)
    if locked.broadcast_id is not None:
        return locked.broadcast  # type: ignore[return-value]
    purposes = list(locked.purposes.all())
    problems = transfer_problems(
        requires_consent=locked.requires_consent,
        purposes=purposes,
        effective_on=locked.effective_on,
    )
    if problems:
        raise ValidationError(" ".join(problems.values()))
    size = audience_size()
    if not size:
        raise ValidationError("There is nobody to tell: no active account.")
    broadcast = services.broadcast_create(
        source=f"transfer:{locked.pk}",
        kind=Broadcast.Kind.TRANSFER,
        category=Category.SERVICE_NOTICES,
        title=transfer_notice_title(locked),
        body=transfer_notice_body(locked, purposes),
        audience=AUDIENCE,
        requires_response=locked.requires_consent,
        created_by=actor,
    )
    locked.broadcast = broadcast
    locked.save(update_fields=["broadcast"])
    transfer.broadcast = broadcast
    audit_staff_action(
        action="notices.transfer_sent",
        actor=actor,
        target=locked,
        data={"broadcast": broadcast.pk, "audience_size": size},
    )
    return broadcast


def record_transfer_answer(message: Message) -> None:
    """A user's answer to a transfer notice, in the consent ledger (method: inbox notice, actor:
    the user). Accepting gives consent to each purpose asked for that is offered to the user;
    objecting withdraws it, or records a refusal where it was never given.

    Runs inside `services.message_respond`'s transaction: an error here (the service has
    stopped collecting, say) undoes the answer too, and the user is told why.
    """
    if message.broadcast_id is None:
        return
    transfer = (
        TransferNotice.objects.filter(broadcast_id=message.broadcast_id)
        .prefetch_related("purposes")
        .first()
    )
    if transfer is None or not transfer.requires_consent:
        return
    user = message.user
    purposes = [p for p in transfer.purposes.all() if p.legal_basis == LegalBasis.CONSENT]
    if message.response == Response.ACCEPTED:
        minor = is_minor(user)
        for purpose in purposes:
            if purpose_is_offered(purpose, minor=minor):
                consent_give(user=user, purpose=purpose, method=Method.INBOX_NOTICE, actor=user)
        return
    for purpose in purposes:
        if purpose.is_optional:
            consent_refuse(user=user, purpose=purpose, method=Method.INBOX_NOTICE, actor=user)
