"""The staff actions on a request: who may, when it makes sense, which service, which form.

The admin (admin.py) draws a button per action and runs it; the rules stay in the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import User
from core.admin_tools import ObjectAction

from . import corrections, services
from .models import DataSubjectRequest, DenialReason, LegalExemption, Status
from .workflow import STAFF_ANSWERED, can_transition

WORK = "requests_dsar.change_datasubjectrequest"
APPROVE = "requests_dsar.approve_request"
DENY = "requests_dsar.deny_request"
EXTEND = "requests_dsar.extend_request"
MESSAGE = "requests_dsar.add_requestmessage"
RECORD_CORRECTION = "requests_dsar.add_appliedcorrection"
DUE_SOON_DAYS = 10
DUE_URGENT_DAYS = 5


def reference(obj: DataSubjectRequest) -> str:
    """The short reference the requester sees in e-mails."""
    return obj.reference


def due_badge(obj: DataSubjectRequest) -> SafeString | str:
    """The deadline with the days left, in words and colour (green, amber, red)."""
    if obj.due_at is None:
        return "—"
    day = timezone.localtime(obj.due_at).date().isoformat()
    if not obj.is_open:
        return day
    days = obj.days_left or 0
    if obj.paused_at is not None:
        tone, text = "paused", f"paused, {days} days left"
    elif obj.is_overdue:
        tone, text = "overdue", "overdue"
    elif days < DUE_URGENT_DAYS:
        tone, text = "urgent", f"{days} days left"
    elif days < DUE_SOON_DAYS:
        tone, text = "soon", f"{days} days left"
    else:
        tone, text = "ok", f"{days} days left"
    return format_html('<span class="dsar-due dsar-due--{}">{} · {}</span>', tone, day, text)


# --- Forms of the staff actions -------------------------------------------------------------


def _text(label: str, *, required: bool = True, help_text: str = "", max_length: int = 5000) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


class ConfirmForm(forms.Form):
    pass


class VerifyForm(forms.Form):
    note = _text("How was the identity verified?", help_text="Kept in the request's history.")


class ClarifyForm(forms.Form):
    message = _text(
        "Question to the requester",
        help_text="Sent as a message; the deadline pauses until they answer.",
    )


class DenyForm(forms.Form):
    reason = forms.ChoiceField(label="Reason", choices=DenialReason.choices)
    exemption = forms.ChoiceField(
        label="Legal exemption",
        choices=[("", "—"), *LegalExemption.choices],
        required=False,
        help_text="Required when the reason is a legal exemption.",
    )
    note = _text(
        "Note to the requester", required=False, help_text="Required when the reason is “Other”."
    )


class ExtendForm(forms.Form):
    days = forms.IntegerField(label="Extend by (days)", min_value=1)
    reason = _text("Reason", help_text="The requester is told this reason.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].help_text = f"1 to {settings.DSAR_EXTENSION_MAX_DAYS} days, once."


class MessageForm(forms.Form):
    body = _text("Message", help_text="The requester reads it on the request's page.")


class NoteForm(forms.Form):
    body = _text("Note", help_text="For our team only: the requester never sees it.")


class CorrectionApprovalForm(forms.Form):
    """Approving a correction: what staff changed by hand, for each staff-only proposal."""

    def __init__(self, *args: Any, proposals: Iterable[dict[str, str]], **kwargs: Any) -> None:
        self.proposals = list(proposals)
        initial_before = kwargs.pop("initial_before", {})
        super().__init__(*args, **kwargs)
        limit = corrections.MAX_PROPOSAL_LENGTH
        for proposal in self.proposals:
            field, label = proposal["field"], corrections.field_label(proposal["field"])
            self.fields[f"before_{field}"] = _text(
                f"{label}: before", required=False, max_length=limit
            )
            self.fields[f"before_{field}"].initial = initial_before.get(field, "")
            self.fields[f"after_{field}"] = _text(
                f"{label}: after",
                max_length=limit,
                help_text=f"Requested: {proposal['value']}",
            )
            self.fields[f"after_{field}"].initial = proposal["value"]

    def applied(self) -> dict[str, tuple[str, str]]:
        data = self.cleaned_data
        return {
            p["field"]: (data[f"before_{p['field']}"], data[f"after_{p['field']}"])
            for p in self.proposals
        }


# --- The staff actions: who may, when it makes sense, which service ----------------------------


def is_correction(obj: DataSubjectRequest) -> bool:
    return obj.type in corrections.CORRECTION_TYPES


def _approvable(obj: DataSubjectRequest) -> bool:
    if obj.type in STAFF_ANSWERED:
        return False  # questions and complaints are answered, not approved
    if obj.status == Status.AWAITING_APPROVAL:
        return True
    # A failed correction whose staff-only changes were never recorded.
    return (
        obj.status == Status.FAILED
        and is_correction(obj)
        and bool(corrections.unrecorded_staff_changes(obj))
    )


def _approval_form(obj: DataSubjectRequest, data: Any) -> forms.Form:
    if not is_correction(obj):
        return ConfirmForm(data)
    before = {"email": obj.subject.email} if obj.subject else {}
    return CorrectionApprovalForm(
        data, proposals=corrections.unrecorded_staff_changes(obj), initial_before=before
    )


def _approve(obj: DataSubjectRequest, actor: User, form: forms.Form) -> object:
    if isinstance(form, CorrectionApprovalForm):
        return corrections.correction_approve(request=obj, actor=actor, applied=form.applied())
    if is_correction(obj):
        return corrections.correction_approve(request=obj, actor=actor, applied={})
    return services.dsar_approve(request=obj, actor=actor)


class StaffAction(ObjectAction):
    """A button on a request's page. Approving a correction also needs the permission to
    record corrections."""

    def permitted(self, user: Any, obj: DataSubjectRequest) -> bool:
        needed = self.permissions
        if self.name == "approve" and is_correction(obj):
            needed = (*needed, RECORD_CORRECTION)
        return bool(user.has_perms(needed))


STAFF_ACTIONS = {
    a.name: a
    for a in [
        StaffAction(
            name="verify",
            label="Verify identity",
            permissions=(WORK,),
            available=lambda o: o.status == Status.IDENTITY_UNVERIFIED,
            form=lambda o, data: VerifyForm(data),
            run=lambda o, actor, f: services.dsar_mark_verified(
                request=o, actor=actor, note=f.cleaned_data["note"]
            ),
            done="Identity verified; the deadline runs from now.",
            help="Mark the requester's identity as verified by other means.",
        ),
        StaffAction(
            name="clarify",
            label="Ask for clarification",
            permissions=(WORK,),
            available=lambda o: can_transition(o.status, Status.NEEDS_CLARIFICATION),
            form=lambda o, data: ClarifyForm(data),
            run=lambda o, actor, f: services.dsar_ask_clarification(
                request=o, actor=actor, message=f.cleaned_data["message"]
            ),
            done="Clarification asked; the deadline is paused.",
        ),
        StaffAction(
            name="approve",
            label="Approve",
            permissions=(APPROVE,),
            available=_approvable,
            form=_approval_form,
            run=_approve,
            done="Approved; the request is queued for the worker.",
            help="A privacy officer's approval. For a correction, first apply each change below "
            "by hand, then record the value before and after.",
        ),
        StaffAction(
            name="deny",
            label="Deny",
            permissions=(DENY,),
            available=lambda o: can_transition(o.status, Status.DENIED),
            form=lambda o, data: DenyForm(data),
            run=lambda o, actor, f: services.dsar_deny(
                request=o,
                actor=actor,
                reason=f.cleaned_data["reason"],
                exemption=f.cleaned_data["exemption"],
                note=f.cleaned_data["note"],
            ),
            done="Request denied; the requester is told why.",
        ),
        StaffAction(
            name="extend",
            label="Extend the deadline",
            permissions=(EXTEND,),
            available=lambda o: o.is_open and o.due_at is not None and o.extended_at is None,
            form=lambda o, data: ExtendForm(data),
            run=lambda o, actor, f: services.dsar_extend(
                request=o, actor=actor, reason=f.cleaned_data["reason"], days=f.cleaned_data["days"]
            ),
            done="Deadline extended; the requester is told the reason.",
        ),
        StaffAction(
            name="retry",
            label="Retry",
            permissions=(WORK,),
            available=lambda o: o.status == Status.FAILED,
            form=lambda o, data: ConfirmForm(data),
            run=lambda o, actor, f: services.dsar_retry(request=o, actor=actor),
            done="Queued again.",
            help="Queue the failed work again.",
        ),
        StaffAction(
            name="answer",
            label="Answer and close",
            permissions=(WORK, MESSAGE),
            available=lambda o: o.type in STAFF_ANSWERED and o.status == Status.AWAITING_APPROVAL,
            form=lambda o, data: MessageForm(data),
            run=lambda o, actor, f: services.dsar_reply_and_close(
                request=o, actor=actor, body=f.cleaned_data["body"]
            ),
            done="Answered; the request is completed.",
        ),
        StaffAction(
            name="note",
            label="Add an internal note",
            permissions=(WORK,),
            available=lambda o: True,
            form=lambda o, data: NoteForm(data),
            run=lambda o, actor, f: services.dsar_note_add(
                request=o, author=actor, body=f.cleaned_data["body"]
            ),
            done="Note added. Only our team sees it.",
        ),
        StaffAction(
            name="message",
            label="Send a message",
            permissions=(MESSAGE,),
            available=lambda o: o.is_open,
            form=lambda o, data: MessageForm(data),
            run=lambda o, actor, f: services.dsar_message_post(
                request=o, author=actor, body=f.cleaned_data["body"], from_staff=True
            ),
            done="Message sent.",
        ),
    ]
}
