"""The dashboard inbox (/dashboard/inbox/): the list by tab and category, one message, the
actions on it, the answer to a notice that asks for one, and the e-mail preferences.

Thin: forms parse, one service acts, a template renders. A message belongs to its user only;
anyone else's answers 404, as if it did not exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.typing import AuthenticatedHttpRequest
from core.models import MAX_ID
from core.request_info import safe_next

from . import services
from .forms import (
    InboxFilterForm,
    MessageAction,
    MessageActionForm,
    PreferencesForm,
    RespondForm,
    Tab,
)
from .models import Category, Message

INBOX_PAGE_SIZE = 20
LINK_SCHEMES = frozenset({"", "http", "https"})

ACTION_DONE = {
    MessageAction.READ: gettext_lazy("The message is marked read."),
    MessageAction.UNREAD: gettext_lazy("The message is marked unread."),
    MessageAction.ARCHIVE: gettext_lazy("The message is archived."),
    MessageAction.UNARCHIVE: gettext_lazy("The message is back in your inbox."),
}


def _not_found() -> Http404:
    return Http404("No such message of yours.")


def _check_id(pk: int) -> None:
    if pk > MAX_ID:
        raise _not_found()


def _bad_request(request: AuthenticatedHttpRequest, text: str) -> HttpResponse:
    return render(request, "notices/bad_request.html", {"text": text}, status=400)


def safe_link(link: str) -> str:
    """A message's link if it is a web address or a path on this site; nothing otherwise."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if not link or scheme not in LINK_SCHEMES:
        return ""
    if not scheme and (parts.netloc or not link.startswith("/") or link.startswith("//")):
        return ""  # "//elsewhere.example" is another site, not a path on this one
    return link


@login_required
@require_GET
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET)
    status = 200
    if form.is_valid():
        view, category = form.cleaned_data["view"], form.cleaned_data["category"]
    else:
        # A tampered query string: say so, and show the whole inbox instead.
        status = 400
        view, category = Tab.ALL, ""
        form = InboxFilterForm({"view": view})
        form.is_valid()
        messages.error(request, _("That filter is not valid; showing all your messages."))
    found = services.inbox(request.user, archived=view == Tab.ARCHIVED)
    if view == Tab.UNREAD:
        found = found.filter(read_at__isnull=True)
    if category:
        found = found.filter(category=category)
    page = Paginator(found, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {"view": view, **({"category": category} if category else {})}
    return render(
        request,
        "notices/inbox.html",
        {
            "page": page,
            "form": form,
            "view": view,
            "category": category,
            "category_label": Category(category).label if category else "",
            "tabs": [
                (value, label, urlencode({**filters, "view": value}))
                for value, label in Tab.CHOICES
            ],
            "query": urlencode(filters),
            "here": request.get_full_path(),
        },
        status=status,
    )


@login_required
@require_GET
def message_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One message; opening it marks it read."""
    _check_id(pk)
    message = services.message_mark_read(user=request.user, message_id=pk)
    if message is None:
        raise _not_found()
    return render(
        request,
        "notices/message.html",
        {"message": message, "link": safe_link(message.link)},
    )


@login_required
@require_POST
def message_action(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark read or unread, archive or bring back one message."""
    _check_id(pk)
    form = MessageActionForm(request.POST)
    if not form.is_valid():
        return _bad_request(request, _("Choose read, unread, archive or move back."))
    action = form.cleaned_data["action"]
    if action in (MessageAction.READ, MessageAction.UNREAD):
        done = services.message_mark_read(
            user=request.user, message_id=pk, read=action == MessageAction.READ
        )
    else:
        done = services.message_archive(
            user=request.user, message_id=pk, archived=action == MessageAction.ARCHIVE
        )
    if done is None:
        raise _not_found()
    messages.success(request, ACTION_DONE[action])
    return redirect(safe_next(request, reverse("notices:inbox")))


@login_required
@require_POST
def message_respond(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Accept or object to a notice that asks for an answer (a transfer needing consent)."""
    _check_id(pk)
    form = RespondForm(request.POST)
    if not form.is_valid():
        return _bad_request(request, _("Answer by accepting or objecting."))
    try:
        message = services.message_respond(
            user=request.user, message_id=pk, response=form.cleaned_data["response"]
        )
    except Message.DoesNotExist as exc:
        raise _not_found() from exc
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(
            request,
            _("Your answer is recorded: %(answer)s.")
            % {"answer": message.get_response_display().lower()},
        )
    return redirect("notices:message", pk=pk)


@login_required
@require_POST
def mark_all_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = services.messages_mark_all_read(user=request.user)
    if count:
        text = ngettext(
            "%(count)d message marked read.", "%(count)d messages marked read.", count
        ) % {"count": count}
    else:
        text = _("There were no unread messages.")
    messages.success(request, text)
    return redirect(safe_next(request, reverse("notices:inbox")))


@login_required
@require_GET
def latest_incident(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where the security banner leads: the latest unread security-incident notice."""
    latest = (
        services.inbox(request.user)
        .filter(category=Category.SECURITY_INCIDENTS, read_at__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )
    if latest is None:
        url = reverse("notices:inbox") + "?" + urlencode({"category": Category.SECURITY_INCIDENTS})
        return redirect(url)
    return redirect("notices:message", pk=latest)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    current = services.preferences_for(request.user)
    data = request.POST if request.method == "POST" else None
    form = PreferencesForm(data, preferences=current)
    if data is not None and form.is_valid():
        try:
            services.preferences_update(user=request.user, choices=form.choices())
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Your e-mail preferences are saved."))
            return redirect("notices:preferences")
    return render(
        request,
        "notices/preferences.html",
        {"form": form, "preferences": current},
        status=400 if form.errors else 200,
    )
