"""The admin of transfer (merger, acquisition) notices: record one, send it to every user, follow
the answers. Sending goes through a confirmation page, then one service call
(announcements.transfers), which audits each step."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from consent.models import LegalBasis, Purpose
from notices.admin import confirm_page

from .. import transfers
from ..models import TransferNotice
from .common import CONFIRM_SEND_TEMPLATE, SEND_TRANSFER, SendableAdminMixin, flash_error, staff


class TransferNoticeForm(forms.ModelForm):
    class Meta:
        model = TransferNotice
        fields = [
            "kind",
            "new_controller",
            "new_controller_contact",
            "what_changes",
            "effective_on",
            "requires_consent",
            "purposes",
        ]
        widgets = {"purposes": forms.CheckboxSelectMultiple}
        labels = {
            "new_controller": "New controller",
            "new_controller_contact": "New controller's contact",
            "what_changes": "What changes for users",
            "effective_on": "Effective on",
            "requires_consent": "Requires new consent",
        }
        help_texts = {
            "new_controller": "The company that becomes responsible for the information.",
            "new_controller_contact": "An address or page where users can reach them.",
            "requires_consent": "Users then accept or object from their inbox, recorded in "
            "the consent ledger.",
            "purposes": "Only optional purposes based on consent can be asked for.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        purposes = self.fields.get("purposes")
        if purposes is None:
            return  # shown read-only (a support agent may read notices): nothing to choose
        purposes.queryset = Purpose.objects.filter(  # type: ignore[attr-defined]
            legal_basis=LegalBasis.CONSENT, is_optional=True, active=True
        )
        purposes.required = False

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        problems = transfers.transfer_problems(
            requires_consent=bool(cleaned.get("requires_consent")),
            purposes=cleaned.get("purposes") or [],
            effective_on=cleaned.get("effective_on"),
        )
        for name, problem in problems.items():
            if name not in self.errors:
                self.add_error(name, problem)
        return cleaned


@admin.register(TransferNotice)
class TransferNoticeAdmin(SendableAdminMixin, admin.ModelAdmin):
    send_url_name = "announcements_transfernotice_send"

    form = TransferNoticeForm
    list_display = ["__str__", "effective_on", "requires_consent", "created_at", "notice_state"]
    list_select_related = ["broadcast"]
    change_form_template = "admin/announcements/transfernotice/change_form.html"
    confirm_template = CONFIRM_SEND_TEMPLATE

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.broadcast_id is not None:
            return False  # sent: what users were told stays as it was
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(staff(request).has_perm(SEND_TRANSFER))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["created_by", "created_at", "notice_state"] if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(TransferNoticeForm.Meta.fields)
        return fields if obj is None else [*fields, "created_by", "created_at", "notice_state"]

    @admin.display(description="Notice")
    def notice_state(self, obj: TransferNotice) -> str:
        if obj.broadcast is None:
            return "Not sent"
        return (
            f"{obj.broadcast.get_state_display()} (since {obj.broadcast.created_at:%Y-%m-%d %H:%M})"
        )

    def save_model(
        self, request: HttpRequest, obj: TransferNotice, form: Any, change: bool
    ) -> None:
        transfers.transfer_save(
            transfer=obj,
            purposes=form.cleaned_data.get("purposes") or [],
            actor=staff(request),
            changed=form.changed_data,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The purposes were set by `transfer_save` (with its checks and audit entry)."""

    def get_urls(self) -> list[URLPattern]:
        send = self.admin_site.admin_view(self.send_view)
        return [
            path("<path:object_id>/send/", send, name="announcements_transfernotice_send"),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_send_permission(request):
            raise PermissionDenied
        transfer = self.get_object(request, unquote(object_id))
        if transfer is None:
            raise Http404
        change_url = reverse("admin:announcements_transfernotice_change", args=[transfer.pk])
        if transfer.broadcast_id is not None:
            self.message_user(request, "The notice was already sent.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                transfers.transfer_send(transfer=transfer, actor=staff(request))
            except ValidationError as error:
                flash_error(self, request, error)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                f"The notice is being sent to {transfers.audience_size():,} users.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        purposes = list(transfer.purposes.all())
        return confirm_page(
            self,
            request,
            title=f"Send the notice: {transfer}",
            original=transfer,
            change_url=change_url,
            template=self.confirm_template,
            notice_title=transfers.transfer_notice_title(transfer),
            notice_body=transfers.transfer_notice_body(transfer, purposes),
            audience_text="Everyone with an account",
            audience_size=transfers.audience_size(),
            category="Service notices: e-mailed unless a user switched them off; always in the "
            "inbox",
            asks_answer=transfer.requires_consent,
            button="Send the notice",
        )
