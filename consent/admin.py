"""Staff admin for the consent catalogue: policy versions, purposes, the third-party SDK list.

Policy versions are drafted here and published from their own page ("Publish…", which shows
the rendered text, the changes since the version in effect and who will be told) through
`policies.policy_publish`. A published version opens read-only and cannot be deleted; for a
material one it shows how far the notice to users (a notices broadcast) has gone.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin_tools import ChangeContextMixin

from .kantara import PII_CATEGORIES, PURPOSE_CATEGORIES
from .models import PolicyVersion, Purpose, ThirdParty
from .policies import (
    current_policy,
    diff_lines,
    policy_draft_from,
    policy_publish,
    publish_problems,
    render_policy,
    version_label_problem,
)
from .policy_notices import policy_notice_audience_size, policy_notice_progress
from .seed import DEMO_KEY_PREFIX

PUBLISH = "consent.publish_policyversion"
DRAFT_FIELDS = (
    "version",
    "title",
    "last_updated",
    "effective_on",
    "is_material",
    "summary_of_changes",
    "text",
)
RECORD_FIELDS = ("status", "published_at", "published_by", "notices")


class PolicyVersionForm(forms.ModelForm):
    class Meta:
        model = PolicyVersion
        fields = DRAFT_FIELDS
        widgets = {"text": forms.Textarea(attrs={"rows": 30, "cols": 100})}
        help_texts = {
            "version": "Shown to users and part of the page's address, e.g. 2.0.",
            "summary_of_changes": "In plain words; every user is told it for a material change.",
            "effective_on": "No earlier than the day it is published (users are told first).",
        }

    def clean_version(self) -> str:
        label = self.cleaned_data["version"].strip()
        problem = version_label_problem(label)
        if problem:
            raise ValidationError(problem)
        return label


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ChangeContextMixin, admin.ModelAdmin):
    form = PolicyVersionForm
    list_display = (
        "version",
        "title",
        "standing",
        "is_material",
        "last_updated",
        "effective_on",
        "published_at",
    )
    list_filter = ("status", "is_material")
    search_fields = ("version", "title")
    actions = ["start_new_draft"]

    # --- read-only once published --------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return DRAFT_FIELDS if obj is None else (*DRAFT_FIELDS, *RECORD_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and obj.is_published:
            return (*DRAFT_FIELDS, *RECORD_FIELDS)
        return RECORD_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_published:
            return False  # the page opens read-only (view permission)
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # drafts are deleted one by one from their page
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyVersion]:
        in_effect = (
            PolicyVersion.objects.filter(
                status=PolicyVersion.Status.PUBLISHED, effective_on__lte=timezone.localdate()
            )
            .order_by("-effective_on", "-published_at")
            .values("pk")[:1]
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                in_effect=ExpressionWrapper(Q(pk=Subquery(in_effect)), output_field=BooleanField())
            )
        )

    @admin.display(description="standing")
    def standing(self, obj: PolicyVersion) -> str:
        if not obj.is_published:
            return "Draft"
        if getattr(obj, "in_effect", False):
            return "In effect"
        return "Upcoming" if obj.effective_on > timezone.localdate() else "Replaced"

    @admin.display(description="Notice to users")
    def notices(self, obj: PolicyVersion) -> str:
        return policy_notice_progress(obj)

    # --- new draft from an existing version ------------------------------------------------

    @admin.action(description="Start a new draft from the selected version", permissions=["add"])
    def start_new_draft(self, request: HttpRequest, queryset: QuerySet[PolicyVersion]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.WARNING)
            return None
        source = queryset.get()
        try:
            draft = policy_draft_from(source)
        except IntegrityError:
            self.message_user(request, "Another draft was just started; try again.", messages.ERROR)
            return None
        label = draft.version
        self.message_user(request, f"Draft {label} created: edit it, then publish it.")
        return HttpResponseRedirect(reverse("admin:consent_policyversion_change", args=[draft.pk]))

    # --- publishing ------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        publish = self.admin_site.admin_view(self.publish_view)
        return [
            path("<path:object_id>/publish/", publish, name="consent_policyversion_publish"),
            *super().get_urls(),
        ]

    def change_context(self, request: HttpRequest, obj: PolicyVersion) -> dict[str, Any]:
        return {
            "can_publish": not obj.is_published and request.user.has_perm(PUBLISH),
            "publish_url": reverse("admin:consent_policyversion_publish", args=[obj.pk]),
        }

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm(PUBLISH):
            raise PermissionDenied
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404
        change_url = reverse("admin:consent_policyversion_change", args=[version.pk])
        if version.is_published:
            self.message_user(request, "This version is already published.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                policy_publish(version=version, actor=request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
                return HttpResponseRedirect(request.path)
            self.message_user(request, f"Version {version.version} is published.")
            if version.is_material:
                self.message_user(request, f"Notice to users: {policy_notice_progress(version)}")
            return HttpResponseRedirect(change_url)
        current = current_policy()
        changes = (
            [row for row in diff_lines(current, version) if row[0] != "same" and row[1].strip()]
            if current is not None
            else []
        )
        to_notify = policy_notice_audience_size(timezone.now()) if version.is_material else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": version,
            "title": f"Publish version {version.version}",
            "change_url": change_url,
            "problems": publish_problems(version),
            "current": current,
            "changes": changes,
            "to_notify": to_notify,
            "body": render_policy(version.text),
        }
        return TemplateResponse(request, "admin/consent/policyversion/publish.html", context)


# --- Purposes and third parties ----------------------------------------------------------------


def _choices_with(known: list[str], stored: list[str] | str) -> list[tuple[str, str]]:
    """The Kantara list, plus any stored value outside it (kept, never silently dropped)."""
    stored_values = [stored] if isinstance(stored, str) else list(stored)
    extra = [value for value in stored_values if value and value not in known]
    return [(value, value) for value in [*known, *extra]]


class PurposeForm(forms.ModelForm):
    pii_categories = forms.MultipleChoiceField(
        label="Personal information categories (Kantara)",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    kantara_purpose_category = forms.ChoiceField(label="Purpose category (Kantara)", required=False)

    class Meta:
        model = Purpose
        fields = (
            "key",
            "name",
            "description",
            "legal_basis",
            "is_optional",
            "pii_categories",
            "kantara_purpose_category",
            "third_parties",
            "offered_to_minors",
            "cookie_category",
            "refused_by_gpc",
            "introduced_in",
            "order",
            "active",
        )
        help_texts = {
            "is_optional": "Only consent-based purposes can be optional (the user chooses).",
            "cookie_category": 'Decided in the cookie banner: "analytics", "advertising" or empty.',
            "refused_by_gpc": "A browser's Global Privacy Control signal counts as a refusal.",
            "offered_to_minors": "Untick for profiling, personalised advertising and marketing.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.fields["pii_categories"].choices = _choices_with(  # type: ignore[attr-defined]
            PII_CATEGORIES, instance.pii_categories or []
        )
        self.fields["kantara_purpose_category"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *_choices_with(PURPOSE_CATEGORIES, instance.kantara_purpose_category),
        ]


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    form = PurposeForm
    list_display = (
        "name",
        "key",
        "legal_basis",
        "is_optional",
        "offered_to_minors",
        "cookie_category",
        "refused_by_gpc",
        "active",
        "order",
    )
    list_filter = ("legal_basis", "is_optional", "active", "refused_by_gpc")
    search_fields = ("key", "name")
    prepopulated_fields = {"key": ("name",)}

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The key names the purpose in the ledger's hashes and in other services' checks.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "key") if obj is not None else readonly

    def get_prepopulated_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return {} if obj is not None else dict(self.prepopulated_fields)

    filter_horizontal = ("third_parties",)
    ordering = ("order", "key")


@admin.register(ThirdParty)
class ThirdPartyAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "country", "policy_link", "active")
    list_filter = ("active",)
    search_fields = ("key", "name")
    prepopulated_fields = {"key": ("name",)}

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        if ThirdParty.objects.filter(key__startswith=DEMO_KEY_PREFIX, active=True).exists():
            messages.warning(
                request,
                "The SDKs whose key starts with “demo-” are the demo's examples, listed publicly "
                "as if they were yours: replace them with the SDKs your apps really use.",
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description="privacy policy")
    def policy_link(self, obj: ThirdParty) -> str:
        return format_html(
            '<a href="{}" rel="noopener noreferrer">{}</a>', obj.privacy_policy_url, "open"
        )
