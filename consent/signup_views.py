"""The sign-up page's choices, fetched again (htmx) when the date of birth or region changes:
an adult sees the choices offered only to adults before submitting, so one submission creates
the account and no password is typed twice. Without JavaScript the page works as before."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .signup_form import SignupExtraForm


@require_safe
def signup_choices(request: HttpRequest) -> HttpResponse:
    # Only the date of birth, the region and the boxes ticked so far are sent (never a password).
    form = SignupExtraForm(data=request.GET)
    return render(request, "account/_signup_choices.html", {"form": form})
