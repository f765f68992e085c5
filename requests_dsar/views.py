"""The requester's pages: their requests, a new request, one request's page, the signed-out form.

Thin: forms parse, one service acts, a template renders. A request belongs to its subject and its
requester; anyone else gets a 404, never a hint that it exists.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from typing import Any, cast

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts.typing import AuthenticatedHttpRequest
from core import ratelimit
from core.forms import add_service_errors
from core.models import Actor
from core.registry import registry
from requests_dsar import display, intake, selectors, services
from requests_dsar.models import DataSubjectRequest, ErasureRecord, RequestType, Status

from . import followers, systems
from .forms import (
    CATEGORY_TYPES,
    CHANGE_TYPES,
    TYPE_GROUPS,
    TYPE_INFO,
    BaseChangeFormSet,
    ChangeFormSet,
    CodeForm,
    MessageForm,
    PublicRequestForm,
    RequestForm,
)
from .workflow import (
    AUTOMATED,
    DOWNLOADABLE,
    FILED_BY_SOMEONE_ELSE,
    TransitionNotAllowed,
    can_cancel,
    filed_by,
)

REQUESTS_PAGE_SIZE = 20
DATA_PAGE_SIZE = 50
EXPORT_TYPES = frozenset({RequestType.ACCESS, RequestType.COPY, RequestType.TRANSFER})
# The path another service calls with a transfer token (the transfer engine's endpoint).
ROLE_NAMES: dict[str, Any] = {
    Actor.REQUESTER: gettext_lazy("You"),
    Actor.STAFF: gettext_lazy("Privacy team"),
    Actor.SYSTEM: gettext_lazy("Portal"),
}
CODE_RESULTS = {
    "wrong": gettext_lazy("That code is not right. Check the e-mail and try again."),
    "expired": gettext_lazy("This code has expired or was already used. Ask for a new code."),
    "locked": gettext_lazy("Too many wrong codes were entered. Ask for a new code."),
}
HOUR = 3600


def _own(
    request: AuthenticatedHttpRequest, public_id: uuid.UUID, *, audited: bool = True
) -> DataSubjectRequest:
    """One of the user's requests, or 404. A guardian reaching one they filed for a minor is
    audited as a guardian's access to the minor's data (unless the caller does it itself)."""
    found = selectors.request_for(request.user, public_id)
    if found is None:
        raise Http404("No such request of yours.")
    if audited:
        followers.request_viewed(viewer=request.user, request=found, section="request")
    return found


def _detail_url(dsar: DataSubjectRequest, anchor: str = "") -> str:
    url = reverse("dsar:detail", args=[dsar.public_id])
    return f"{url}#{anchor}" if anchor else url


def too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "requests_dsar/public/too_many.html", status=429)
    response["Retry-After"] = str(HOUR)
    return response


# --- The signed-in requester ---------------------------------------------------------------------


@login_required
def request_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = Paginator(selectors.requests_for(request.user), REQUESTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    followers.requests_listed(viewer=request.user, requests=page.object_list)
    return render(request, "requests_dsar/list.html", {"page": page})


@login_required
def request_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "requests_dsar/new.html", {"groups": TYPE_GROUPS})


@login_required
@require_http_methods(["GET", "POST"])
# Reading the form is harmless; sending it asks for the password again (allauth then replays it).
@reauthentication_required(allow_get=True)
def request_create(request: AuthenticatedHttpRequest, request_type: str) -> HttpResponse:
    if request_type not in TYPE_INFO:
        raise Http404("No such kind of request.")
    data = request.POST if request.method == "POST" else None
    form = RequestForm(data, request_type=request_type)
    changes = (
        cast(BaseChangeFormSet, ChangeFormSet(data, prefix="changes"))
        if request_type in CHANGE_TYPES
        else None
    )
    if data is not None and form.is_valid() and (changes is None or changes.is_valid()):
        scope = form.scope()
        if changes is not None:
            scope["changes"] = changes.changes()
        try:
            filed, created = services.dsar_request_create(
                subject=request.user,
                requester=request.user,
                type=request_type,
                details=form.cleaned_data["details"],
                scope=scope,
                reauthenticated=True,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if created:
                messages.success(
                    request,
                    _("Your request is received. We'll keep you posted here and by e-mail."),
                )
            else:
                messages.info(
                    request,
                    _(
                        "You already have an open request of this kind, so we added your "
                        "details to it rather than starting over."
                    ),
                )
            return redirect(_detail_url(filed))
    has_errors = bool(form.errors) or bool(changes is not None and not changes.is_valid())
    return render(
        request,
        "requests_dsar/create.html",
        {
            "form": form,
            "changes": changes,
            "info": TYPE_INFO[request_type],
            "has_errors": has_errors,
            "category_type": request_type in CATEGORY_TYPES,
            "cool_off_days": settings.DSAR_ERASURE_COOL_OFF_DAYS,
            "archive_days": settings.DSAR_ARCHIVE_LIFETIME_DAYS,
        },
        status=400 if has_errors else 200,
    )


def _is_live(dsar: DataSubjectRequest) -> bool:
    """Whether a worker is about to move the request, so the page watches for the change."""
    if dsar.type not in AUTOMATED or dsar.status not in (
        Status.PENDING,
        Status.WAITING_ON_SYSTEMS,
        Status.IN_PROGRESS,
    ):
        return False
    return dsar.act_after is None or dsar.act_after <= timezone.now()


def _field_label(name: str) -> str:
    from .corrections import field_label

    return field_label(name)


def _categories(dsar: DataSubjectRequest) -> list[tuple[str, str]]:
    chosen = dsar.scope.get("categories") if isinstance(dsar.scope, dict) else None
    known = registry.categories()
    return [(key, label) for key, label in known if not chosen or key in chosen]


def _results(dsar: DataSubjectRequest) -> dict[str, Any]:
    """What the request produced, for its page: an archive, the data online, applied changes."""
    results: dict[str, Any] = {
        "corrections": [
            (_field_label(c.field), c) for c in dsar.corrections.order_by("applied_at", "pk")
        ]
    }
    if dsar.type in EXPORT_TYPES and dsar.status == Status.COMPLETED:
        archive = selectors.live_archive_for(dsar)
        results["archive"] = archive
        if archive is not None and dsar.type in DOWNLOADABLE:
            from .downloads import download_url_for

            results["download_url"] = download_url_for(archive)
        if archive is not None and dsar.type == RequestType.ACCESS:
            results["categories"] = _categories(dsar)
    if dsar.type == RequestType.DELETE and dsar.status == Status.COMPLETED:
        erasure = ErasureRecord.objects.filter(request=dsar).first()
        labels = dict(registry.categories())
        results["erasure"] = erasure
        results["retained"] = [
            {**item, "category": labels.get(str(item.get("category")), item.get("category"))}
            for item in (erasure.summary if erasure else [])
            if isinstance(item, dict) and item.get("strategy") == "retain"
        ]
    return results


def _asked(dsar: DataSubjectRequest) -> dict[str, Any]:
    """The request's scope in words: the categories chosen and the changes asked for."""
    scope = dsar.scope if isinstance(dsar.scope, dict) else {}
    chosen = scope.get("categories") or []
    changes = scope.get("changes") or []
    return {
        "scope_categories": [(k, label) for k, label in registry.categories() if k in chosen],
        "requested_changes": [
            (_field_label(str(c.get("field", ""))), c.get("value", ""))
            for c in changes
            if isinstance(c, dict)
        ],
    }


def _detail_context(
    request: AuthenticatedHttpRequest, dsar: DataSubjectRequest, **forms: Any
) -> dict[str, Any]:
    message_form = forms.get("message_form") or MessageForm()
    if dsar.status == Status.NEEDS_CLARIFICATION:
        message_form.fields["body"].label = _("Your answer")
    progress = systems.progress(dsar)
    return {
        "dsar": dsar,
        "info": TYPE_INFO[dsar.type],
        # Newest first, as every history in the portal reads (sign-ins, activity, consent).
        "events": [
            (ROLE_NAMES.get(e.actor_role, ""), e) for e in dsar.events.order_by("-at", "-pk")
        ],
        "conversation": dsar.messages.all(),
        "message_form": message_form,
        "code_form": forms.get("code_form") or CodeForm(),
        "can_cancel": can_cancel(dsar, request.user),
        "filed_by_someone_else": not filed_by(dsar, request.user),
        "live": _is_live(dsar),
        "poll_state": _poll_state(dsar, progress),
        "systems": progress,
        "now": timezone.now(),
        "transfer_token": request.session.pop(f"dsar_transfer_token:{dsar.public_id}", None),
        "transfer_pull_url": request.build_absolute_uri(reverse("api:transfer-pull")),
        **_asked(dsar),
        **_results(dsar),
    }


def _poll_state(dsar: DataSubjectRequest, progress: systems.RequestProgress | None = None) -> str:
    """What the page shows that a poll watches: the status, and while the request waits on
    the other systems, how far they got."""
    if dsar.status == Status.WAITING_ON_SYSTEMS:
        return f"{dsar.status}:{(progress or systems.progress(dsar)).state}"
    return str(dsar.status)


@login_required
def request_detail(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    # The page's own polls are not audited one by one: they show nothing but a reload.
    dsar = _own(request, public_id, audited=False)
    if getattr(request, "htmx", False) and "poll" in request.GET:
        # The page polls while a worker is busy; it reloads once what it shows has moved (the
        # status, or how far the other systems got).
        if request.GET["poll"] != _poll_state(dsar):
            return HttpResponseClientRefresh()
        return HttpResponse(status=204)
    followers.request_viewed(viewer=request.user, request=dsar, section="request")
    return render(request, "requests_dsar/detail.html", _detail_context(request, dsar))


@login_required
@require_POST
def request_message(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    dsar = _own(request, public_id)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            services.dsar_message_post(
                request=dsar, author=request.user, body=form.cleaned_data["body"], from_staff=False
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your message is sent to our privacy team."))
            return redirect(_detail_url(dsar, "messages"))
    context = _detail_context(request, dsar, message_form=form)
    return render(request, "requests_dsar/detail.html", context, status=400)


@login_required
@require_POST
def request_verify(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The e-mailed code, entered by the signed-in requester (requests filed by API)."""
    dsar = _own(request, public_id)
    form = CodeForm(request.POST)
    if form.is_valid():
        result = services.dsar_code_check(request=dsar, code=form.cleaned_data["code"])
        if result == "ok":
            messages.success(
                request, _("Thank you: your request is confirmed and the clock is running.")
            )
            return redirect(_detail_url(dsar))
        form.add_error("code", CODE_RESULTS[result])
    context = _detail_context(request, dsar, code_form=form)
    return render(request, "requests_dsar/detail.html", context, status=400)


@login_required
@require_POST
def request_code_resend(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    dsar = _own(request, public_id)
    if dsar.status != Status.IDENTITY_UNVERIFIED:
        messages.info(request, _("This request is already confirmed."))
    elif not ratelimit.allow(
        request, scope="dsar-code-resend", limit=5, period=HOUR, key=f"user:{request.user.pk}"
    ):
        return too_many(request)
    else:
        services.dsar_code_issue(request=dsar)
        messages.success(request, _("A new code is on its way to your e-mail address."))
    return redirect(_detail_url(dsar, "verify"))


@login_required
@require_http_methods(["GET", "POST"])
def request_cancel(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    dsar = _own(request, public_id)
    if request.method == "POST":
        try:
            services.dsar_cancel(request=dsar, actor=request.user)
        except TransitionNotAllowed as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("Your request is cancelled. Nothing more will be done."))
        return redirect(_detail_url(dsar))
    if not can_cancel(dsar, request.user):
        messages.error(
            request,
            _(FILED_BY_SOMEONE_ELSE)
            if not filed_by(dsar, request.user)
            else _("This request can no longer be cancelled."),
        )
        return redirect(_detail_url(dsar))
    return render(
        request, "requests_dsar/cancel.html", {"dsar": dsar, "info": TYPE_INFO[dsar.type]}
    )


@login_required
@require_POST
# The token hands a copy of everything to whoever holds it: the password is asked again first.
@reauthentication_required
def transfer_token_create(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    dsar = _own(request, public_id)
    archive = selectors.live_archive_for(dsar)
    if dsar.type != RequestType.TRANSFER or dsar.status != Status.COMPLETED or archive is None:
        messages.error(request, _("There is no prepared copy to transfer."))
        return redirect(_detail_url(dsar))
    from .export import ArchiveGone, transfer_token_issue

    try:
        token = transfer_token_issue(archive=archive, actor=request.user)
    except ArchiveGone:
        messages.error(request, _("The prepared copy has expired. Make a new request."))
        return redirect(_detail_url(dsar))
    except PermissionDenied:
        messages.error(request, _("Only the person who made this request can hand it over."))
        return redirect(_detail_url(dsar))
    # Shown once on the next page, then gone.
    request.session[f"dsar_transfer_token:{dsar.public_id}"] = token
    return redirect(_detail_url(dsar, "transfer"))


@login_required
def request_data(
    request: AuthenticatedHttpRequest, public_id: uuid.UUID, category: str
) -> HttpResponse:
    """An access request's result: one category of the data, a page at a time."""
    dsar = _own(request, public_id)
    categories = dict(_categories(dsar))
    if dsar.type != RequestType.ACCESS or dsar.status != Status.COMPLETED:
        raise Http404("This request has no data to show.")
    if category not in categories:
        raise Http404("No such category in this request.")
    archive = selectors.live_archive_for(dsar)
    context: dict[str, Any] = {"dsar": dsar, "category": category, "label": categories[category]}
    if archive is None:
        return render(request, "requests_dsar/data.html", context, status=410)
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    if number > (sys.maxsize - DATA_PAGE_SIZE - 1) // DATA_PAGE_SIZE:
        # Starts beyond any row an archive can hold (and any offset islice accepts).
        raise Http404("No such page.")
    from .export import ArchiveGone, archive_read_category

    try:
        # One row more than a page: whether there is a next page, without counting them all.
        rows = archive_read_category(
            archive, category, (number - 1) * DATA_PAGE_SIZE, DATA_PAGE_SIZE + 1
        )
    except ArchiveGone:
        return render(request, "requests_dsar/data.html", context, status=410)
    columns, table = display.category_table(category, rows[:DATA_PAGE_SIZE])
    context.update(
        archive=archive,
        columns=columns,
        rows=table,
        number=number,
        has_next=len(rows) > DATA_PAGE_SIZE,
        categories=categories.items(),
    )
    return render(request, "requests_dsar/data.html", context)


# --- Signed out: the public form and its code page -------------------------------------------


@require_http_methods(["GET", "POST"])
def public_request(request: HttpRequest) -> HttpResponse:
    form = PublicRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit.allow(
            request,
            scope="dsar-public-request",
            limit=settings.DSAR_PUBLIC_REQUESTS_PER_HOUR,
            period=HOUR,
        ):
            return too_many(request)
        public_id = intake.public_request_submit(
            email=form.cleaned_data["email"],
            type=form.cleaned_data["type"],
            details=form.cleaned_data["details"],
        )
        return redirect("dsar_public:verify", public_id)
    return render(
        request,
        "requests_dsar/public/form.html",
        {"form": form, "type_choices": [(r, TYPE_INFO[r.data["value"]]) for r in form["type"]]},
        status=400 if form.errors else 200,
    )


def code_page(
    request: HttpRequest,
    *,
    scope: str,
    check: Callable[[str], str],
    template: str,
    verified_template: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """A signed-out page that asks for an e-mailed code: the same page for every id, real or
    not. `check(code)` answers "ok" or a CODE_RESULTS key; the tries are rate-limited per
    address under `scope`."""
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "code_minutes": settings.DSAR_CODE_TTL_MINUTES, **(context or {})}
    if request.method == "POST" and form.is_valid():
        if not ratelimit.allow(
            request, scope=scope, limit=settings.DSAR_PUBLIC_CODE_TRIES_PER_HOUR, period=HOUR
        ):
            return too_many(request)
        result = check(form.cleaned_data["code"])
        if result == "ok":
            return render(request, verified_template)
        form.add_error("code", CODE_RESULTS[result])
        context["result"] = result
    return render(request, template, context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def public_verify(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Only a real request's right code verifies it."""
    return code_page(
        request,
        scope="dsar-public-code",
        check=lambda code: intake.public_code_check(public_id=public_id, code=code),
        template="requests_dsar/public/verify.html",
        verified_template="requests_dsar/public/verified.html",
    )
