"""The consent ledger and the disclosure log in admin: staff read them, never write them.

Both arrive only through the services (`ledger.consent_record`, `services.disclosure_record`)
and stay as proof, so no one adds, changes or deletes a row here, not even a superuser; the
ledger's chains are checked with `manage.py verify_consent_ledger`. Every view is audited,
like every staff view of a user's personal data. Registered from ConsentConfig.ready().
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from core.admin_tools import AuditedViewMixin, RecordAdminMixin

from .ledger import user_subject_key
from .models import ConsentEvent, Disclosure

EVENT_FIELDS = (
    "uuid",
    "subject_key",
    "seq",
    "purpose",
    "decision",
    "policy_version",
    "method",
    "actor",
    "actor_user_id",
    "created_at",
    "decided_at",
    "purpose_snapshot",
    "collected_from",
    "prev_hash",
    "hash",
)

# A user id as typed into the search box: plain digits that fit the id column.
USER_ID = re.compile(r"[0-9]{1,18}")


@admin.register(ConsentEvent)
class ConsentEventAdmin(RecordAdminMixin, AuditedViewMixin, admin.ModelAdmin):
    list_display = ["created_at", "subject_key", "seq", "purpose", "decision", "method", "actor"]
    list_filter = ["purpose", "decision", "method", "actor"]
    list_select_related = ["purpose"]
    search_fields = ["=subject_key", "=uuid"]
    search_help_text = "A user's id or e-mail address, a subject key, or an event's receipt id."
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    ordering = ["-created_at", "-pk"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = None

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ConsentEvent], search_term: str
    ) -> tuple[QuerySet[ConsentEvent], bool]:
        # The ledger names users by a keyed hash: find a user's chain by their id or address.
        term = search_term.strip()
        user_id: int | None = None
        if USER_ID.fullmatch(term):
            user_id = int(term)
        elif "@" in term:
            user_id = User.objects.filter(email__iexact=term).values_list("pk", flat=True).first()
        if user_id is not None:
            return queryset.filter(subject_key=user_subject_key(user_id)), False
        if term.startswith(("user:", "visitor:")):
            return queryset.filter(subject_key=term), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Collected from")
    def collected_from(self, obj: ConsentEvent) -> str:
        context = getattr(obj, "context", None)
        if context is None:
            return "—"
        parts = [context.ip_address or "", context.user_agent]
        return " · ".join(part for part in parts if part) or "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConsentEvent]:
        return super().get_queryset(request).select_related("policy_version", "context")


@admin.register(Disclosure)
class DisclosureAdmin(RecordAdminMixin, AuditedViewMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "user", "third_party", "purpose", "categories"]
    list_filter = ["third_party", "purpose"]
    list_select_related = ["user", "third_party", "purpose"]
    search_fields = ["user__email"]
    fields = ("user", "third_party", "purpose", "data_categories", "occurred_at", "description")
    readonly_fields = fields
    ordering = ["-occurred_at", "-pk"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    actions = None

    @admin.display(description="Information shared")
    def categories(self, obj: Disclosure) -> str:
        return ", ".join(str(c) for c in obj.data_categories)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Disclosure], search_term: str
    ) -> tuple[QuerySet[Disclosure], bool]:
        if USER_ID.fullmatch(search_term.strip()):
            return queryset.filter(user_id=int(search_term)), False
        return super().get_search_results(request, queryset, search_term)
