"""Staff admin for notices: every broadcast with its progress and its failed e-mails.

Privacy officers retry failed e-mails; support agents read (permissions from migration 0002).
Retrying goes through a confirmation page, then one service call (notices.services), which
audits it. Progress is a fragment the page polls with htmx (a static script, nothing inline:
CSP-clean) and a plain "Refresh" link. The pages of what a broadcast tells (the announcements')
show the same progress (`progress_context`) and confirmation pages (`confirm_page`); a broadcast
links to them through `admin_links`, where those apps register.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import User
from core.admin_tools import ChangeContextMixin

from . import services
from .admin_links import owner_url
from .audience import describe_audience
from .fanout import broadcast_progress
from .models import Broadcast, EmailState, Response

RETRY = "notices.change_broadcast"
PROGRESS_POLL = "every 5s"


def _staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- Progress of a broadcast, shown on the pages of what it tells --------------------------------


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


def confirm_page(
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
class BroadcastAdmin(ChangeContextMixin, admin.ModelAdmin):
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
            total += services.broadcast_retry(broadcast=broadcast, actor=_staff(request))
        if total:
            self.message_user(request, f"{total:,} failed e-mails queued again.", messages.SUCCESS)
        else:
            self.message_user(request, "No failed e-mail in the selected notices.", messages.INFO)

    def change_context(self, request: HttpRequest, obj: Model) -> dict[str, Any]:
        return progress_context(request, obj)  # type: ignore[arg-type]

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
            retried = services.broadcast_retry(broadcast=broadcast, actor=_staff(request))
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
        return confirm_page(
            self,
            request,
            title=f"Retry failed e-mails: {broadcast}",
            original=broadcast,
            change_url=back,
            template=self.confirm_template,
            failed=failed,
        )
