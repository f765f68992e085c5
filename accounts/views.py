"""The dashboard: home, profile, security and history. Thin: forms and services do the work."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.admin_tools import session_used_second_factor

from . import selectors, services
from .forms import ApiTokenForm, ProfileForm
from .typing import AuthenticatedHttpRequest

HISTORY_PAGE_SIZE = 25


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "dashboard/home.html",
        {
            "profile": selectors.profile_for(user),
            "mfa_types": selectors.mfa_types_for(user),
            "linked_accounts": selectors.linked_accounts_for(user),
            "recent_logins": selectors.login_history_for(user)[:5],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    profile = selectors.profile_for(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        services.profile_update(
            user=request.user,
            actor=request.user,
            data={name: form.cleaned_data[name] for name in form.changed_data},
        )
        messages.success(request, _("Your profile is saved."))
        return redirect("dashboard:profile")
    status = 400 if form.errors else 200
    return render(request, "dashboard/profile.html", {"form": form}, status=status)


@login_required
def security(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "dashboard/security.html",
        {
            "mfa_types": selectors.mfa_types_for(user),
            "linked_accounts": selectors.linked_accounts_for(user),
            "session_count": UserSession.objects.filter(user=user).count(),
            "tokens": user.api_tokens.all(),
            "new_token": request.session.pop("new_api_token", None),
        },
    )


@login_required
def history(request: AuthenticatedHttpRequest) -> HttpResponse:
    logins = Paginator(selectors.login_history_for(request.user), HISTORY_PAGE_SIZE)
    accesses = Paginator(selectors.access_log_for(request.user), HISTORY_PAGE_SIZE)
    return render(
        request,
        "dashboard/history.html",
        {
            "logins": logins.get_page(request.GET.get("logins")),
            "accesses": accesses.get_page(request.GET.get("accesses")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required
def token_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    second_factor = session_used_second_factor(request)
    form = ApiTokenForm(
        request.POST or None, offer_staff_scope=request.user.is_staff and second_factor
    )
    if request.method == "POST" and form.is_valid():
        _token, secret = services.api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            lifetime=form.cleaned_lifetime(),
            staff_scope=form.cleaned_data.get("staff_scope", False),
            second_factor_used=second_factor,
        )
        # Shown once on the next page, then gone: only its hash is kept.
        request.session["new_api_token"] = secret
        return redirect("dashboard:security")
    status = 400 if form.errors else 200
    context = {
        "form": form,
        "staff_without_second_factor": request.user.is_staff and not second_factor,
    }
    return render(request, "dashboard/token_new.html", context, status=status)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    if not services.api_token_revoke(user=request.user, token_id=token_id):
        raise Http404("No such token of yours.")  # like every object of someone else's
    messages.success(request, _("The token is revoked."))
    return redirect("dashboard:security")
