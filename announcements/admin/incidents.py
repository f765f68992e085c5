"""The admin of security incidents: declare, send, follow, update.

Privacy officers declare and send; support agents read (permissions from notices' migration 0002,
moved here with the models). What users were told never changes once sent: the page opens
read-only but for the incident's status and its timeline of updates. Sending goes through a
confirmation page, then one service call (announcements.incidents), which audits each step.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.registry import registry
from notices.admin import confirm_page
from notices.audience import audience_users, describe_audience, validate_audience

from .. import incidents
from ..incidents import ListedUsers
from ..models import Incident, IncidentUpdate
from .common import (
    ADD_UPDATE,
    CONFIRM_SEND_TEMPLATE,
    SEND_INCIDENT,
    SendableAdminMixin,
    flash_error,
    staff,
)


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
        return obj is not None and bool(staff(request).has_perm(ADD_UPDATE))

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
        url = reverse("admin:announcements_incident_send_update", args=[obj.incident_id, obj.pk])
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


@admin.register(Incident)
class IncidentAdmin(SendableAdminMixin, admin.ModelAdmin):
    send_url_name = "announcements_incident_send"

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
    change_form_template = "admin/announcements/incident/change_form.html"
    confirm_template = CONFIRM_SEND_TEMPLATE

    # Incidents are records of what users were told: never deleted.
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(staff(request).has_perm(SEND_INCIDENT))

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
        incidents.incident_save(incident=obj, actor=staff(request), changed=form.changed_fields())
        listed = getattr(form, "listed", None)
        if listed is not None:
            level = messages.WARNING if listed.unknown or listed.unreachable else messages.INFO
            self.message_user(request, f"List of user ids: {listed.summary()}", level)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not IncidentUpdate:
            super().save_formset(request, form, formset, change)
            return
        for update in formset.save(commit=False):
            incidents.incident_update_save(update=update, actor=staff(request))

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
                name="announcements_incident_send_update",
            ),
            path("<path:object_id>/send/", send, name="announcements_incident_send"),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_send_permission(request):
            raise PermissionDenied
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404
        change_url = reverse("admin:announcements_incident_change", args=[incident.pk])
        if incident.broadcast_id is not None:
            self.message_user(request, "The notice was already sent.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                broadcast = incidents.incident_send(incident=incident, actor=staff(request))
            except ValidationError as error:
                flash_error(self, request, error)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                f"The notice is being sent to {incidents.audience_size(incident):,} users "
                f"(broadcast #{broadcast.pk}); follow it below.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        return confirm_page(
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
        change_url = reverse("admin:announcements_incident_change", args=[incident.pk])  # type: ignore[union-attr]
        problem = incidents.update_send_problem(update)
        if problem:
            self.message_user(request, problem, messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                incidents.incident_update_send(update=update, actor=staff(request))
            except ValidationError as error:
                flash_error(self, request, error)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request,
                "The update is being sent to everyone the incident's notice reached.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        first = update.incident.broadcast
        assert first is not None
        return confirm_page(
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
