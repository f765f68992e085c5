"""The dashboard inbox. Thin: services do the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.typing import AuthenticatedHttpRequest

from . import services


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    archived = request.GET.get("view") == "archived"
    messages = services.inbox(request.user, archived=archived)[:100]
    return render(request, "notices/inbox.html", {"inbox": messages, "archived": archived})


@login_required
def message_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    message = services.message_mark_read(user=request.user, message_id=pk)
    if message is None:
        raise Http404
    return render(request, "notices/message.html", {"message": message})


@login_required
@require_http_methods(["GET"])
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "notices/preferences.html",
        {"preferences": services.preferences_for(request.user)},
    )
