"""Relatives' cases in the admin: the proof, the deceased's own arrangement, approve or deny.

Privacy officers decide (the approve and deny permissions of requests); support agents may
look (view permission). Every page showing a case and every proof document opened is audited.
Documents open through links signed for one staff member that expire within minutes.

A case's request also sits in the request queue with its deadline. There, the buttons that
would move it without the case's checks (approve, verify, clarify, message) are switched off:
the decision is taken here, where the proof and the arrangement are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.db.models import F, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString

from accounts.models import Profile
from core import uploads
from core.admin_tools import ObjectAction, ObjectActionsMixin, RecordAdminMixin
from core.audit import audit_append
from core.models import Actor
from relatives import services as relatives
from relatives.models import Relationship, RelativeAsk, RelativeCase, RelativeDocument
from requests_dsar.admin_actions import (
    APPROVE,
    DENY,
    STAFF_ACTIONS,
    DenyForm,
    due_badge,
)
from requests_dsar.models import DataSubjectRequest, Status
from requests_dsar.workflow import TransitionNotAllowed

VIEW_DOCUMENTS = "relatives.view_relativedocument"
DOCUMENT_SALT = "relatives.services.document"
DOCUMENT_LINK_SECONDS = 10 * 60
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}

# --- The request queue: a relative's request is decided on its case ---------------------------

DECIDED_ON_THE_CASE = ("verify", "clarify", "approve", "message")


def _not_for_relatives(available: Callable[[DataSubjectRequest], bool]) -> Any:
    def check(obj: DataSubjectRequest) -> bool:
        return not relatives.is_relative_request(obj) and available(obj)

    return check


for _name in DECIDED_ON_THE_CASE:
    if _name in STAFF_ACTIONS:
        _action = STAFF_ACTIONS[_name]
        STAFF_ACTIONS[_name] = dataclasses.replace(
            _action, available=_not_for_relatives(_action.available)
        )


# --- What the arrangement means for the case --------------------------------------------------


def arrangement_meaning(case: RelativeCase, arrangement: str) -> str:
    """What approving does, given the arrangement, in a sentence for staff."""
    outcome = relatives.outcome_for(case.asked, arrangement)
    if case.asked == RelativeAsk.COPY and outcome == RelativeAsk.DELETE:
        return (
            "The relative asked for a copy, but the user wanted everything deleted: approving "
            "refuses the copy and deletes the account."
        )
    if relatives.deletion_follows_copy(outcome, arrangement):
        return (
            "Approving gives the relative a copy; the account is then deleted "
            f"{relatives.follow_up_delay().days} days later, when the copy's link has expired."
        )
    if outcome == RelativeAsk.DELETE:
        return "Approving deletes the account, as the relative asked."
    return "Approving gives the relative a copy, as they asked; the account stays memorialized."


class ApproveForm(forms.Form):
    checked = forms.BooleanField(
        label="I have checked the death certificate and the proof of relationship.",
        error_messages={"required": "Check the documents first, then tick this box."},
    )


def _awaiting(case: RelativeCase) -> bool:
    return case.request is not None and case.request.status == Status.AWAITING_APPROVAL


def _deny(case: RelativeCase, actor: Any, form: forms.Form) -> None:
    relatives.relative_case_deny(
        case=case,
        actor=actor,
        reason=form.cleaned_data["reason"],
        exemption=form.cleaned_data["exemption"],
        note=form.cleaned_data["note"],
    )


# A privacy officer's decisions on a case: approving needs the documents in order.
DECISIONS = {
    a.name: a
    for a in [
        ObjectAction(
            name="approve",
            label="Approve",
            permissions=(APPROVE,),
            available=lambda case: _awaiting(case) and not relatives.case_problem(case),
            form=lambda case, data: ApproveForm(data),
            run=lambda case, actor, form: relatives.relative_case_approve(case=case, actor=actor),
            done="Approved: the account is memorialized and the request is queued.",
        ),
        ObjectAction(
            name="deny",
            label="Deny",
            permissions=(DENY,),
            available=_awaiting,
            form=lambda case, data: DenyForm(data),
            run=_deny,
            done="Denied: the relative is told why.",
        ),
    ]
}


# --- Filters ------------------------------------------------------------------------------------


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("decide", "Waiting for a decision"), ("open", "Open"), ("closed", "Closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "decide":
            return queryset.filter(request__status=Status.AWAITING_APPROVAL)
        if value == "open":
            return queryset.exclude(
                request__status__in=[Status.COMPLETED, Status.DENIED, Status.CANCELLED]
            )
        if value == "closed":
            return queryset.filter(
                request__status__in=[Status.COMPLETED, Status.DENIED, Status.CANCELLED]
            )
        return None


# --- The cases ----------------------------------------------------------------------------------


@admin.register(RelativeCase)
class RelativeCaseAdmin(RecordAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["reference", "received", "relationship", "asked", "account", "state", "due"]
    list_display_links = ["reference"]
    list_filter = [StateFilter, "asked", "relationship"]
    list_select_related = ["request", "deceased"]
    search_fields = ["=public_id", "relative_email", "deceased_email"]
    ordering = [F("request__due_at").asc(nulls_last=True), "pk"]  # type: ignore[list-item]
    show_full_result_count = False
    actions = None
    change_form_template = "relatives/admin/change_form.html"
    action_route = "decide"
    action_template = "relatives/admin/decide.html"
    refusals = (TransitionNotAllowed,)
    fieldsets = [
        ("The user's own arrangement", {"fields": ["arrangement_box"]}),
        (
            "Case",
            {
                "fields": [
                    "reference",
                    "state",
                    "due",
                    "created_at",
                    "verified_at",
                    "relative_name",
                    "relative_email",
                    "relationship_stated",
                    "deceased_email",
                    "account",
                    "asked",
                ]
            },
        ),
        (
            "Decision",
            {"fields": ["outcome", "decided_at", "decided_by", "request_link", "erasure_link"]},
        ),
    ]
    readonly_fields = [
        "arrangement_box",
        "reference",
        "state",
        "due",
        "relationship_stated",
        "account",
        "request_link",
        "erasure_link",
    ]

    class Media:
        css = {"all": ["admin/css/requests_dsar.css"]}

    # Cases arrive through the public form; staff act with the buttons, never by editing
    # (RecordAdminMixin).

    def get_queryset(self, request: HttpRequest) -> QuerySet[RelativeCase]:
        # A case whose relative never confirmed their address is nobody's work: it is removed.
        return (
            super()
            .get_queryset(request)
            .filter(verified_at__isnull=False)
            .select_related("request", "deceased", "decided_by", "erasure_request")
        )

    # --- Columns and fields

    @admin.display(description="Reference", ordering="public_id")
    def reference(self, obj: RelativeCase) -> str:
        return obj.reference

    @admin.display(description="Received", ordering="created_at")
    def received(self, obj: RelativeCase) -> str:
        return f"{obj.created_at:%Y-%m-%d %H:%M}"

    @admin.display(description="State")
    def state(self, obj: RelativeCase) -> str:
        if obj.request is None:
            return "E-mail address not confirmed"
        if obj.request.status == Status.AWAITING_APPROVAL:
            return "Waiting for a decision"
        return str(obj.request.get_status_display())

    @admin.display(description="Due")
    def due(self, obj: RelativeCase) -> SafeString | str:
        return due_badge(obj.request) if obj.request else "—"

    @admin.display(description="Account")
    def account(self, obj: RelativeCase) -> SafeString | str:
        user = obj.deceased
        if user is None:
            return "No account uses this address"
        url = reverse("admin:accounts_user_change", args=[user.pk])
        return format_html('<a href="{}">User #{}</a>', url, user.pk)

    @admin.display(description="Relationship")
    def relationship_stated(self, obj: RelativeCase) -> str:
        if obj.relationship == Relationship.OTHER:
            return f"{obj.get_relationship_display()}: {obj.relationship_other}"
        return str(obj.get_relationship_display())

    @admin.display(description="")
    def arrangement_box(self, obj: RelativeCase) -> SafeString:
        """Shown first and boxed: what the user wanted decides what approval does."""
        if obj.deceased is None:
            return format_html(
                '<ul class="messagelist"><li class="error"><strong>No account uses the address '
                "the relative gave.</strong> Deny the case with “No data matches the request”."
                "</li></ul>"
            )
        if obj.decided_at is not None and obj.outcome:
            arrangement, when = obj.arrangement, "when the case was approved"
        else:
            profile = Profile.objects.filter(user=obj.deceased).first()
            arrangement, when = (profile.after_death if profile else ""), "now"
        label = (
            Profile.AfterDeath(arrangement).label
            if arrangement
            else "None made: the relatives decide"
        )
        return format_html(
            '<ul class="messagelist"><li class="{}">After my death: <strong>{}</strong> '
            "<small>(the user's choice, {})</small><br>{}</li></ul>",
            "warning" if arrangement else "info",
            label,
            when,
            arrangement_meaning(obj, arrangement),
        )

    def _request_link(self, request: DataSubjectRequest | None) -> SafeString | str:
        if request is None:
            return "—"
        url = reverse("admin:requests_dsar_datasubjectrequest_change", args=[request.pk])
        return format_html(
            '<a href="{}">{} {}</a> · {}',
            url,
            request.get_type_display(),
            request.reference,
            request.get_status_display(),
        )

    @admin.display(description="Request")
    def request_link(self, obj: RelativeCase) -> SafeString | str:
        return self._request_link(obj.request)

    @admin.display(description="Deletion that follows the copy")
    def erasure_link(self, obj: RelativeCase) -> SafeString | str:
        return self._request_link(obj.erasure_request)

    # --- Auditing every view (AuditedViewMixin): the case is the deceased's data

    def viewed_user_id(self, obj: RelativeCase) -> int | None:
        return obj.deceased_id

    # --- Buttons: approve, deny

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "document/<str:token>/",
                self.admin_site.admin_view(self.document_view),
                name="{}_{}_document".format(*info),
            ),
            *super().get_urls(),
        ]

    def object_actions(self) -> Mapping[str, ObjectAction]:
        return DECISIONS

    def unavailable_message(self, obj: RelativeCase, action: ObjectAction) -> str:
        return "This case cannot be decided that way now."

    def object_action_context(
        self, request: HttpRequest, obj: RelativeCase, action: ObjectAction
    ) -> dict[str, Any]:
        return {"arrangement": self.arrangement_box(obj), "due": self.due(obj)}

    def change_context(self, request: HttpRequest, obj: RelativeCase) -> dict[str, Any]:
        return {
            **super().change_context(request, obj),
            "documents": self._documents(request, obj),
            "document_link_minutes": DOCUMENT_LINK_SECONDS // 60,
        }

    # --- Proof documents, through links signed for one staff member

    def _documents(self, request: HttpRequest, obj: RelativeCase) -> list[dict[str, Any]]:
        """The case's documents, each with a link signed for the staff member viewing."""
        signer = TimestampSigner(salt=DOCUMENT_SALT)
        found = []
        for document in obj.documents.all():
            url = ""
            if document.deleted_at is None:
                token = signer.sign_object({"d": document.pk, "u": request.user.pk})
                url = reverse("admin:relatives_relativecase_document", args=[token])
            found.append(
                {
                    "document": document,
                    "type": EXTENSIONS.get(document.content_type, "").lstrip(".").upper(),
                    "url": url,
                }
            )
        return found

    def document_view(self, request: HttpRequest, token: str) -> HttpResponseBase:
        if not request.user.has_perm(VIEW_DOCUMENTS):
            raise PermissionDenied
        signer = TimestampSigner(salt=DOCUMENT_SALT)
        try:
            payload = signer.unsign_object(token, max_age=DOCUMENT_LINK_SECONDS)
            document_id, viewer_id = int(payload["d"]), int(payload["u"])
        except SignatureExpired:
            return self._document_refused(request, "This link has expired: reload the case.", 410)
        except (BadSignature, KeyError, TypeError, ValueError):
            raise Http404 from None
        if viewer_id != request.user.pk:
            raise Http404
        document = (
            RelativeDocument.objects.select_related("case")
            .filter(pk=document_id, case__verified_at__isnull=False)
            .first()
        )
        if document is None:
            raise Http404
        if document.deleted_at is not None:
            return self._document_refused(request, "This document has been deleted.", 410)
        try:
            chunks = uploads.open_decrypted(document.storage_name)
        except FileNotFoundError:
            return self._document_refused(request, "This document's file is missing.", 410)
        audit_append(
            action="relatives.document_opened",
            actor_user_id=request.user.pk,
            actor_role=Actor.STAFF,
            target_type="relatives.relativedocument",
            target_id=document.pk,
            data={"relative_case": document.case_id, "user_id": document.case.deceased_id},
        )
        response = StreamingHttpResponse(chunks, content_type=document.content_type)
        filename = (
            f"case-{document.case.reference}-{document.kind.replace('_', '-')}-{document.pk}"
            f"{EXTENSIONS.get(document.content_type, '')}"
        )
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=True, filename=filename) or "attachment"
        )
        response["Content-Length"] = str(document.size)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox"
        add_never_cache_headers(response)
        return response

    def _document_refused(self, request: HttpRequest, text: str, status: int) -> HttpResponse:
        response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)
        add_never_cache_headers(response)
        return response
