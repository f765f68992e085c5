"""Staff side of guardian consent: where each minor's flow stands, the review of guardians'
documents (privacy officers: accept, or reject with a note; the file is deleted after review),
and the user admin's action "Minor without guardian consent". Every view is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.admin import user_action_register
from accounts.models import User
from core import admin as core_admin
from core.admin_tools import AuditedViewMixin, audit_staff_view
from core.uploads import open_decrypted

from . import flow
from .forms import DocumentReviewForm
from .models import GuardianDocument, Guardianship, MinorAccount

FILE_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class ReadOnlyAdmin(AuditedViewMixin, core_admin.ReadOnlyAdmin):
    """Minor accounts and guardianships change only through the guardian flow."""


@admin.register(MinorAccount)
class MinorAccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "status", "reason", "region", "age_threshold", "decide_by", "adult_on"]
    list_filter = ["status", "reason"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = (
        "user",
        "status",
        "reason",
        "region",
        "age_threshold",
        "adult_on",
        "decide_by",
        "created_at",
        "approved_at",
        "suspended_at",
        "ended_at",
        "erasure_request",
    )
    readonly_fields = fields


@admin.register(Guardianship)
class GuardianshipAdmin(ReadOnlyAdmin):
    list_display = ["pk", "minor", "status", "verification_method", "invited_at", "approved_at"]
    list_filter = ["status", "verification_method"]
    search_fields = ["minor__email", "guardian__email"]
    list_select_related = ["minor"]
    # The invitation nonce is a secret: never shown.
    fields = (
        "minor",
        "guardian",
        "guardian_email",
        "status",
        "verification_method",
        "provider_reference",
        "invited_at",
        "expires_at",
        "accepted_at",
        "first_confirmed_at",
        "second_confirmation_after",
        "approved_at",
        "declined_at",
        "revoked_at",
        "ended_at",
    )
    readonly_fields = fields


@admin.register(GuardianDocument)
class GuardianDocumentAdmin(AuditedViewMixin, admin.ModelAdmin):
    list_display = ["pk", "guardianship", "uploaded_at", "review_link", "accepted"]
    list_filter = ["accepted", "reviewed_at"]
    fields = (
        "guardianship",
        "content_type",
        "size",
        "uploaded_at",
        "reviewed_at",
        "reviewed_by",
        "accepted",
        "review_note",
        "deleted_at",
    )
    readonly_fields = fields
    review_template = "accounts/guardian_invitation/admin_review.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Review")
    def review_link(self, obj: GuardianDocument) -> str:
        if obj.reviewed_at is not None:
            return "Reviewed"
        url = reverse("admin:guardianship_guardiandocument_review", args=[obj.pk])
        return format_html('<a href="{}">Review</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="guardianship_guardiandocument_review",
            ),
            path(
                "<int:object_id>/file/",
                self.admin_site.admin_view(self.file_view),
                name="guardianship_guardiandocument_file",
            ),
            *super().get_urls(),
        ]

    def _document(self, request: HttpRequest, object_id: int) -> GuardianDocument:
        if not self.has_change_permission(request):
            raise PermissionDenied("Only a privacy officer reviews guardians' documents.")
        return get_object_or_404(
            GuardianDocument.objects.select_related("guardianship"), pk=object_id
        )

    def review_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        document = self._document(request, object_id)
        form = DocumentReviewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                flow.guardian_document_review(
                    document=document,
                    reviewer=request.user,  # type: ignore[arg-type]
                    accepted=form.cleaned_data["decision"] == "accept",
                    note=form.cleaned_data["review_note"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for name, errors in exc.message_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                self.message_user(request, "The review is recorded and the file deleted.")
                return HttpResponseRedirect(
                    reverse("admin:guardianship_guardiandocument_changelist")
                )
        if request.method == "GET":
            audit_staff_view(request, document)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Review guardian document #{document.pk}",
            "document": document,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, self.review_template, context, status=400 if form.errors else 200
        )

    def file_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        document = self._document(request, object_id)
        if document.deleted_at is not None:
            raise Http404("The file was deleted after its review.")
        flow.guardian_document_viewed(document=document, viewer=request.user)  # type: ignore[arg-type]
        extension = FILE_EXTENSIONS.get(document.content_type, "bin")
        response = HttpResponse(
            b"".join(open_decrypted(document.storage_name)), content_type=document.content_type
        )
        response["Content-Disposition"] = (
            f'attachment; filename="guardian-document-{document.pk}.{extension}"'
        )
        response["Cache-Control"] = "no-store"
        return response


def may_flag_minors(request: HttpRequest) -> bool:
    return request.user.has_perm("guardianship.add_minoraccount")


@admin.action(description="Minor without guardian consent: suspend, start the guardian flow")
def minor_without_guardian_consent(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[User]
) -> None:
    """The policy: "if we find that any minor has used our products without the prior consent
    of their guardians". Each selected account is suspended until a guardian approves it."""
    if not may_flag_minors(request):
        raise PermissionDenied("Only a privacy officer may do this.")
    for user in queryset:
        result = flow.minor_flag_by_staff(user=user, actor=request.user)  # type: ignore[arg-type]
        level = messages.SUCCESS if result.flagged else messages.WARNING
        modeladmin.message_user(request, f"User #{user.pk}: {result.message}.", level)


user_action_register(minor_without_guardian_consent, allowed=may_flag_minors)
