"""Staff admin for notices: security incidents (declare, send, follow, update), transfer notices,
the end of the service (read-only: it is run by `manage.py terminate_service`) and every
broadcast with its progress.

Privacy officers declare and send; support agents read (permissions from migration 0002). What
users were told never changes once sent: those pages open read-only but for an incident's
status and its timeline of updates. Sending and retrying go through a confirmation page, then
one service call (notices.incidents / notices.transfers); the services audit each step.
Progress is a fragment the page polls with htmx (a static script, nothing inline: CSP-clean)
and a plain "Refresh" link.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from accounts.models import User
from consent.models import LegalBasis, Purpose
from core.registry import registry

from . import incidents, transfers
from .audience import audience_users, describe_audience, validate_audience
from .fanout import broadcast_progress
from .incidents import ListedUsers
from .models import (
    Broadcast,
    EmailState,
    Incident,
    IncidentUpdate,
    Response,
    ServiceTermination,
    TransferNotice,
)

SEND_INCIDENT = "notices.change_incident"
ADD_UPDATE = "notices.add_incidentupdate"
SEND_TRANSFER = "notices.change_transfernotice"
RETRY = "notices.change_broadcast"
PROGRESS_POLL = "every 5s"


def _staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _flash_error(
    model_admin: admin.ModelAdmin, request: HttpRequest, error: ValidationError
) -> None:
    model_admin.message_user(request, " ".join(error.messages), messages.ERROR)


# --- Progress of a broadcast, shown on the pages of what it tells --------------------------------


def owner_url(broadcast: Broadcast) -> str:
    """The admin page of what a broadcast tells (incident, update, transfer), or its own."""
    incident = Incident.objects.filter(broadcast=broadcast).values_list("pk", flat=True).first()
    if incident is None:
        incident = (
            IncidentUpdate.objects.filter(broadcast=broadcast)
            .values_list("incident_id", flat=True)
            .first()
        )
    if incident is not None:
        return reverse("admin:notices_incident_change", args=[incident])
    transfer = TransferNotice.objects.filter(broadcast=broadcast).values_list("pk", flat=True)
    if transfer:
        return reverse("admin:notices_transfernotice_change", args=[transfer[0]])
    return reverse("admin:notices_broadcast_change", args=[broadcast.pk])


def progress_context(request: HttpRequest, broadcast: Broadcast) -> dict[str, Any]:
    progress = broadcast_progress(broadcast, with_audience=broadcast.state != Broadcast.State.DONE)
    answers: dict[str, int] = {}
    if broadcast.requires_response:
        answers = dict(
            broadcast.messages.values_list("response")
            .annotate(n=Count("pk"))
            .values_list("response", "n")
        )
    user = _staff(request)
    return {
        "broadcast": broadcast,
        "progress": progress,
        "audience_text": describe_audience(broadcast.audience),
        "polling": broadcast.state != Broadcast.State.DONE or progress.queued > 0,
        "poll_trigger": PROGRESS_POLL,
        "progress_url": reverse("admin:notices_broadcast_progress", args=[broadcast.pk]),
        "refresh_url": request.get_full_path()
        if not request.htmx  # type: ignore[attr-defined]
        else owner_url(broadcast),
        "retry_url": reverse("admin:notices_broadcast_retry", args=[broadcast.pk])
        if user.has_perm(RETRY) and progress.failed
        else "",
        "accepted": answers.get(Response.ACCEPTED, 0),
        "objected": answers.get(Response.OBJECTED, 0),
        "unanswered": answers.get("", 0),
    }


def _confirm_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    title: str,
    original: Any,
    change_url: str,
    template: str,
    **context: Any,
) -> HttpResponse:
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.opts,
            "original": original,
            "change_url": change_url,
            **context,
        },
    )


# --- Security incidents --------------------------------------------------------------------------


class Audience:
    ALL = "all"
    LOGGED_IN = "logged_in"
    DATA_CATEGORY = "data_category"
    USERS = "users"
    CHOICES = [
        (ALL, "Everyone with an account"),
        (LOGGED_IN, "Users who signed in within a time window"),
        (DATA_CATEGORY, "Users with data in a category"),
        (USERS, "A list of user ids (upload a file)"),
    ]


class IncidentForm(forms.ModelForm):
    """Declaring an incident: what the policy says users are told, and who is affected."""

    data_categories = forms.MultipleChoiceField(
        label="Information affected",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The categories of personal information concerned (leave empty if unknown yet).",
    )
    audience_kind = forms.ChoiceField(
        label="Who is affected", choices=Audience.CHOICES, widget=forms.RadioSelect
    )
    signed_in_after = forms.SplitDateTimeField(
        label="Signed in from", required=False, widget=AdminSplitDateTime
    )
    signed_in_before = forms.SplitDateTimeField(
        label="Signed in until", required=False, widget=AdminSplitDateTime
    )
    audience_category = forms.ChoiceField(label="Data category", required=False)
    user_file = forms.FileField(
        label="List of user ids",
        required=False,
        help_text=(
            "A .txt or .csv file of account ids: one per line or separated by commas, with an "
            f"optional header “id”. At most {incidents.MAX_ID_FILE_BYTES // 2**20} MB."
        ),
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "what_happened",
            "occurred_at",
            "found_at",
            "data_categories",
            "measures_taken",
            "measures_planned",
            "advice",
            "status",
        ]
        labels = {
            "what_happened": "What happened",
            "occurred_at": "When it happened",
            "found_at": "When it was found",
            "measures_taken": "Measures taken",
            "measures_planned": "Measures planned",
            "advice": "What users can do",
        }
        help_texts = {
            "title": "Short and plain: users see it as the notice's subject.",
            "occurred_at": "Leave empty if not known yet.",
            "measures_taken": "How the incident is handled and remedied so far.",
            "measures_planned": "What will still be done.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = registry.categories()
        self.fields["data_categories"].choices = categories  # type: ignore[attr-defined]
        self.fields["audience_category"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *categories,
        ]
        self.listed: ListedUsers | None = None
        self.audience_changed = False
        spec = self.instance.audience or {}
        kind = spec.get("kind", Audience.ALL)
        self.fields["audience_kind"].initial = kind
        if kind == Audience.LOGGED_IN:
            self.fields["signed_in_after"].initial = spec.get("after")
            self.fields["signed_in_before"].initial = spec.get("before")
        if kind == Audience.DATA_CATEGORY:
            self.fields["audience_category"].initial = spec.get("category")
        if kind == Audience.USERS:
            count = len(spec.get("ids") or [])
            self.fields["user_file"].help_text = (
                f"Now: a list of {count:,} accounts. Upload a file only to replace it. "
                + str(self.fields["user_file"].help_text)
            )

    def _audience(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        kind = data.get("audience_kind")
        if kind == Audience.ALL:
            return {"kind": "all"}
        if kind == Audience.LOGGED_IN:
            after, before = data.get("signed_in_after"), data.get("signed_in_before")
            for name, value in (("signed_in_after", after), ("signed_in_before", before)):
                if value is None and name not in self.errors:
                    self.add_error(name, "Give both ends of the time window.")
            if after is None or before is None:
                return None
            if after >= before:
                self.add_error("signed_in_before", "The window must end after it starts.")
                return None
            return {"kind": kind, "after": after.isoformat(), "before": before.isoformat()}
        if kind == Audience.DATA_CATEGORY:
            if not data.get("audience_category"):
                self.add_error("audience_category", "Choose the category.")
                return None
            return {"kind": kind, "category": data["audience_category"]}
        if kind == Audience.USERS:
            upload = data.get("user_file")
            if upload is None:
                if (self.instance.audience or {}).get("kind") == Audience.USERS:
                    return dict(self.instance.audience)
                self.add_error("user_file", "Upload the file of user ids.")
                return None
            if upload.size > incidents.MAX_ID_FILE_BYTES:
                self.add_error(
                    "user_file",
                    f"The file is larger than {incidents.MAX_ID_FILE_BYTES // 2**20} MB.",
                )
                return None
            try:
                self.listed = incidents.check_listed_users(incidents.parse_user_ids(upload.read()))
            except ValidationError as error:
                self.add_error("user_file", error)
                return None
            return {"kind": kind, "ids": self.listed.ids}
        return None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        spec = self._audience()
        if spec is not None:
            try:
                spec = validate_audience(spec)
            except ValidationError as error:
                self.add_error("audience_kind", error)
            else:
                self.audience_changed = spec != (self.instance.audience or {})
                self.instance.audience = spec
        return cleaned

    def _post_clean(self) -> None:
        """The service's own checks, on the instance the form built, as field errors."""
        super()._post_clean()  # type: ignore[misc]
        if self.errors:
            return
        try:
            incidents.check_declaration(self.instance)
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                field = "audience_kind" if name == "audience" else name
                self.add_error(field if field in self.fields else None, problems)

    def changed_fields(self) -> list[str]:
        return [*self.changed_data, *(["audience"] if self.audience_changed else [])]


class IncidentStatusForm(forms.ModelForm):
    """A sent incident: only its status changes (its timeline grows below)."""

    class Meta:
        model = Incident
        fields = ["status"]

    def changed_fields(self) -> list[str]:
        return list(self.changed_data)


class IncidentUpdateForm(forms.ModelForm):
    class Meta:
        model = IncidentUpdate
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3, "cols": 70})}
        labels = {"body": "What is new"}

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if self.instance.broadcast_id is not None and body != self.instance.body:
            raise ValidationError("This update was sent: it cannot change. Add a new one.")
        return body


class IncidentUpdateInline(admin.TabularInline):
    model = IncidentUpdate
    form = IncidentUpdateForm
    extra = 0
    can_delete = False
    fields = ["created_at", "body", "sending"]
    readonly_fields = ["created_at", "sending"]
    verbose_name = "update"
    verbose_name_plural = "timeline of updates"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and bool(_staff(request).has_perm(ADD_UPDATE))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Sent to the incident's audience")
    def sending(self, obj: IncidentUpdate) -> str:
        if obj.pk is None:
            return "—"
        if obj.broadcast is not None:
            url = reverse("admin:notices_broadcast_change", args=[obj.broadcast.pk])
            return format_html(
                '<a href="{}">{} ({})</a>',
                url,
                obj.broadcast.get_state_display(),
                obj.broadcast.created_at.strftime("%Y-%m-%d %H:%M"),
            )
        url = reverse("admin:notices_incident_send_update", args=[obj.incident_id, obj.pk])
        return format_html('<a href="{}">Send…</a>', url)


NOTICE_FIELDSETS = [
    (
        "What happened",
        {"fields": ["title", "what_happened", "occurred_at", "found_at", "data_categories"]},
    ),
    ("How it is handled", {"fields": ["measures_taken", "measures_planned", "advice"]}),
]
EDIT_FIELDSETS = [
    *NOTICE_FIELDSETS,
    (
        "Who is affected",
        {
            "fields": [
                "audience_kind",
                "signed_in_after",
                "signed_in_before",
                "audience_category",
                "user_file",
            ],
            "description": "The window and the category apply only to their choice above.",
        },
    ),
    ("Record", {"fields": ["status"]}),
]
SHOW_FIELDSETS = [
    *NOTICE_FIELDSETS,
    ("Who is affected", {"fields": ["audience_display"]}),
    ("Record", {"fields": ["status", "declared_by", "declared_at", "notice_state"]}),
]
SHOWN_READ_ONLY = [
    "title",
    "what_happened",
    "occurred_at",
    "found_at",
    "data_categories",
    "measures_taken",
    "measures_planned",
    "advice",
    "audience_display",
    "declared_by",
    "declared_at",
    "notice_state",
]


class SendableAdminMixin:
    """The change page of something sent as a broadcast: a send button until it is sent, its
    progress after."""

    send_url_name: str

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        extra = dict(extra_context or {})
        if obj is not None:
            if obj.broadcast is None and self.has_send_permission(request):  # type: ignore[attr-defined]
                extra["send_url"] = reverse(f"admin:{self.send_url_name}", args=[obj.pk])
            if obj.broadcast is not None:
                extra.update(progress_context(request, obj.broadcast))
        return super().change_view(request, object_id, form_url, extra)  # type: ignore[misc]


@admin.register(Incident)
class IncidentAdmin(SendableAdminMixin, admin.ModelAdmin):
    send_url_name = "notices_incident_send"

    list_display = [
        "title",
        "status",
        "found_at",
        "declared_at",
        "audience_display",
        "notice_state",
    ]
    list_filter = ["status"]
    search_fields = ["title"]
    list_select_related = ["broadcast"]
    date_hierarchy = "declared_at"
    inlines = [IncidentUpdateInline]
    change_form_template = "admin/notices/incident/change_form.html"
    confirm_template = "admin/notices/confirm_send.html"

    # Incidents are records of what users were told: never deleted.
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(_staff(request).has_perm(SEND_INCIDENT))

    def _editable(self, request: HttpRequest, obj: Incident | None) -> bool:
        if obj is None:
            return True
        return obj.broadcast_id is None and self.has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return EDIT_FIELDSETS if self._editable(request, obj) else SHOW_FIELDSETS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if self._editable(request, obj) else SHOWN_READ_ONLY

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = IncidentForm if self._editable(request, obj) else IncidentStatusForm
        return super().get_form(request, obj, change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return [] if obj is None else [IncidentUpdateInline]

    @admin.display(description="Who is affected")
    def audience_display(self, obj: Incident) -> str:
        return describe_audience(obj.audience or {})

    @admin.display(description="Notice")
    def notice_state(self, obj: Incident) -> str:
        if obj.broadcast is None:
            return "Not sent"
        return (
            f"{obj.broadcast.get_state_display()} (since {obj.broadcast.created_at:%Y-%m-%d %H:%M})"
        )

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        incidents.incident_save(incident=obj, actor=_staff(request), changed=form.changed_fields())
        listed = getattr(form, "listed", None)
        if listed is not None:
            level = messages.WARNING if listed.unknown or listed.unreachable else messages.INFO
            self.message_user(request, f"List of user ids: {listed.summary()}", level)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not IncidentUpdate:
            super().save_formset(request, form, formset, change)
            return
        for update in formset.save(commit=False):
            incidents.incident_update_save(update=update, actor=_staff(request))

    def response_add(
        self, request: HttpRequest, obj: Incident, post_url_continue: Any = None
    ) -> HttpResponse:
        self.message_user(
            request,
            "Declared. Check the notice and who will receive it with “Send notice…”.",
            messages.INFO,
        )
        return super().response_add(request, obj, post_url_continue)

    # --- The page: send button, progress

    def get_urls(self) -> list[URLPattern]:
        send = self.admin_site.admin_view(self.send_view)
        send_update = self.admin_site.admin_view(self.send_update_view)
        return [
            # The longer pattern first: `<path:…>` would swallow "1/updates/2".
            path(
                "<path:object_id>/updates/<int:update_id>/send/",
                send_update,
                name="notices_incident_send_update",
            ),
            path("<path:object_id>/send/", send, name="notices_incident_send"),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_send_permission(request):
            raise PermissionDenied
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404
        change_url = reverse("admin:notices_incident_change", args=[incident.pk])
        if incident.broadcast_id is not None:
            self.message_user(request, "The notice was already sent.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                broadcast = incidents.incident_send(incident=incident, actor=_staff(request))
            except ValidationError as error:
                _flash_error(self, request, error)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                f"The notice is being sent to {incidents.audience_size(incident):,} users "
                f"(broadcast #{broadcast.pk}); follow it below.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        return _confirm_page(
            self,
            request,
            title=f"Send the notice: {incident}",
            original=incident,
            change_url=change_url,
            template=self.confirm_template,
            notice_title=incidents.incident_notice_title(incident),
            notice_body=incidents.incident_notice_body(incident),
            audience_text=describe_audience(incident.audience),
            audience_size=incidents.audience_size(incident),
            category="Security incidents: always e-mailed, whatever a user's preferences",
            button="Send the notice",
        )

    def send_update_view(
        self, request: HttpRequest, object_id: str, update_id: int
    ) -> HttpResponse:
        if not self.has_send_permission(request):
            raise PermissionDenied
        incident = self.get_object(request, unquote(object_id))
        update = (
            IncidentUpdate.objects.filter(incident=incident, pk=update_id)
            .select_related("incident__broadcast")
            .first()
            if incident is not None
            else None
        )
        if update is None:
            raise Http404
        change_url = reverse("admin:notices_incident_change", args=[incident.pk])  # type: ignore[union-attr]
        problem = incidents.update_send_problem(update)
        if problem:
            self.message_user(request, problem, messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                incidents.incident_update_send(update=update, actor=_staff(request))
            except ValidationError as error:
                _flash_error(self, request, error)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                "The update is being sent to everyone the incident's notice reached.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        first = update.incident.broadcast
        assert first is not None
        return _confirm_page(
            self,
            request,
            title=f"Send an update: {incident}",
            original=incident,
            change_url=change_url,
            template=self.confirm_template,
            notice_title=(incidents.UPDATE_PREFIX + update.incident.title)[:200],
            notice_body=incidents.update_notice_body(update),
            audience_text="Everyone the incident's notice reached",
            audience_size=audience_users({"kind": "broadcast", "id": first.pk}).count(),
            category="Security incidents: always e-mailed, whatever a user's preferences",
            button="Send the update",
        )


# --- Transfer notices ----------------------------------------------------------------------------


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
        self.fields["purposes"].queryset = Purpose.objects.filter(  # type: ignore[attr-defined]
            legal_basis=LegalBasis.CONSENT, is_optional=True, active=True
        )
        self.fields["purposes"].required = False

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
    send_url_name = "notices_transfernotice_send"

    form = TransferNoticeForm
    list_display = ["__str__", "effective_on", "requires_consent", "created_at", "notice_state"]
    list_select_related = ["broadcast"]
    change_form_template = "admin/notices/transfernotice/change_form.html"
    confirm_template = "admin/notices/confirm_send.html"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.broadcast_id is not None:
            return False  # sent: what users were told stays as it was
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(_staff(request).has_perm(SEND_TRANSFER))

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
            actor=_staff(request),
            changed=form.changed_data,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The purposes were set by `transfer_save` (with its checks and audit entry)."""

    def get_urls(self) -> list[URLPattern]:
        send = self.admin_site.admin_view(self.send_view)
        return [
            path("<path:object_id>/send/", send, name="notices_transfernotice_send"),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_send_permission(request):
            raise PermissionDenied
        transfer = self.get_object(request, unquote(object_id))
        if transfer is None:
            raise Http404
        change_url = reverse("admin:notices_transfernotice_change", args=[transfer.pk])
        if transfer.broadcast_id is not None:
            self.message_user(request, "The notice was already sent.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                transfers.transfer_send(transfer=transfer, actor=_staff(request))
            except ValidationError as error:
                _flash_error(self, request, error)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                f"The notice is being sent to {transfers.audience_size():,} users.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        purposes = list(transfer.purposes.all())
        return _confirm_page(
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


# --- Broadcasts: every notice sent to many, with its progress ------------------------------------


BROADCAST_FIELDS = (
    "about",
    "source",
    "kind",
    "category",
    "title",
    "body",
    "audience_display",
    "requires_response",
    "state",
    "created_by",
    "created_at",
    "last_activity_at",
    "finished_at",
)


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "category",
        "state",
        "created_at",
        "reached",
        "emails_sent",
        "emails_failed",
    ]
    list_filter = ["kind", "category", "state"]
    search_fields = ["title", "=source"]
    show_full_result_count = False
    actions = ["retry_failed"]
    fields = BROADCAST_FIELDS
    readonly_fields = BROADCAST_FIELDS
    change_form_template = "admin/notices/broadcast/change_form.html"
    confirm_template = "admin/notices/confirm_retry.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Broadcast]:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(
                n_reached=Count("messages"),
                n_sent=Count("messages", filter=Q(messages__email_state=EmailState.SENT)),
                n_failed=Count("messages", filter=Q(messages__email_state=EmailState.FAILED)),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(_staff(request).has_perm(RETRY))

    @admin.display(description="In inboxes", ordering="n_reached")
    def reached(self, obj: Broadcast) -> int:
        return obj.n_reached  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="E-mails sent", ordering="n_sent")
    def emails_sent(self, obj: Broadcast) -> int:
        return obj.n_sent  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="E-mails failed", ordering="n_failed")
    def emails_failed(self, obj: Broadcast) -> int:
        return obj.n_failed  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="Audience")
    def audience_display(self, obj: Broadcast) -> str:
        return describe_audience(obj.audience)

    @admin.display(description="Tells about")
    def about(self, obj: Broadcast) -> str:
        url = owner_url(obj)
        if url == reverse("admin:notices_broadcast_change", args=[obj.pk]):
            return obj.source
        return format_html('<a href="{}">{}</a>', url, obj.source)

    @admin.action(
        description="Retry the failed e-mails of the selected notices", permissions=["retry"]
    )
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        total = 0
        for broadcast in queryset:
            total += incidents.broadcast_retry(broadcast=broadcast, actor=_staff(request))
        if total:
            self.message_user(request, f"{total:,} failed e-mails queued again.", messages.SUCCESS)
        else:
            self.message_user(request, "No failed e-mail in the selected notices.", messages.INFO)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if obj is not None:
            extra.update(progress_context(request, obj))
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[URLPattern]:
        progress = self.admin_site.admin_view(self.progress_view)
        retry = self.admin_site.admin_view(self.retry_view)
        return [
            path("<path:object_id>/progress/", progress, name="notices_broadcast_progress"),
            path("<path:object_id>/retry/", retry, name="notices_broadcast_retry"),
            *super().get_urls(),
        ]

    def progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The progress fragment, polled by the pages that show it."""
        broadcast = self.get_object(request, unquote(object_id))
        if broadcast is None:
            raise Http404
        if not self.has_view_permission(request, broadcast):
            raise PermissionDenied
        return TemplateResponse(
            request, "admin/notices/progress.html", progress_context(request, broadcast)
        )

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_retry_permission(request):
            raise PermissionDenied
        broadcast = self.get_object(request, unquote(object_id))
        if broadcast is None:
            raise Http404
        back = owner_url(broadcast)
        failed = broadcast.messages.filter(email_state=EmailState.FAILED).count()
        if request.method == "POST":
            retried = incidents.broadcast_retry(broadcast=broadcast, actor=_staff(request))
            if retried:
                self.message_user(
                    request, f"{retried:,} failed e-mails queued again.", messages.SUCCESS
                )
            else:
                self.message_user(request, "No failed e-mail to retry.", messages.INFO)
            return HttpResponseRedirect(back)
        if not failed:
            self.message_user(request, "No failed e-mail to retry.", messages.INFO)
            return HttpResponseRedirect(back)
        return _confirm_page(
            self,
            request,
            title=f"Retry failed e-mails: {broadcast}",
            original=broadcast,
            change_url=back,
            template=self.confirm_template,
            failed=failed,
        )


# --- The end of the service (run by `manage.py terminate_service`) -------------------------------


TERMINATION_FIELDS = (
    "ends_on",
    "reason",
    "announced_by",
    "announced_at",
    "cancelled_at",
    "broadcast",
    "last_report_at",
    "report",
    "executed_at",
)


@admin.register(ServiceTermination)
class ServiceTerminationAdmin(admin.ModelAdmin):
    list_display = ["ends_on", "announced_at", "cancelled_at", "last_report_at", "executed_at"]
    fields = TERMINATION_FIELDS
    readonly_fields = TERMINATION_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Last dry run")
    def report(self, obj: ServiceTermination) -> str:
        entries = (obj.last_report or {}).get("entries") or []
        if not entries:
            return "None yet: run `manage.py terminate_service report`."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e["model"], e["category"], e["strategy"], e["rows"]) for e in entries),
        )
        held = (obj.last_report or {}).get("held_users") or []
        return format_html(
            '<table><thead><tr><th scope="col">Model</th><th scope="col">Category</th>'
            '<th scope="col">Strategy</th><th scope="col">Rows</th></tr></thead>'
            "<tbody>{}</tbody></table><p>Users under a legal hold, skipped: {}</p>",
            rows,
            len(held),
        )
