"""The sign-up page asks the date of birth and region first, because the optional choices
offered depend on the age: with JavaScript, htmx fetches the choices again as they are entered
(`signup_choices`); without it, a first short step (`SignupView`, "Continue") shows the page again
with the choices for that age. Either way an adult signs up in one submission of the password.

Both are POSTs: a date of birth never travels in a URL, where server logs would keep it."""

from __future__ import annotations

from typing import Any

from allauth.account import views as allauth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from .signup_form import ABOUT_YOU_FIELDS, SignupExtraForm

# The first step's button (name and value): the page is shown again, nothing is created.
STEP_FIELD, STEP_CONTINUE = "signup_step", "continue"


class SignupView(allauth_views.SignupView):
    """allauth's e-mail sign-up with the first step for a browser without JavaScript."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get(STEP_FIELD) != STEP_CONTINUE:
            return super().post(request, *args, **kwargs)
        kwargs = self.get_form_kwargs()
        del kwargs["data"], kwargs["files"]  # unbound: only the first step's answers are shown
        kwargs["initial"].update({name: request.POST.get(name, "") for name in ABOUT_YOU_FIELDS})
        form = self.get_form_class()(**kwargs)
        form.show_first_step_errors(request.POST)
        return self.render_to_response(self.get_context_data(form=form))


signup = SignupView.as_view()


@require_POST
def signup_choices(request: HttpRequest) -> HttpResponse:
    # Only the date of birth, the region and the boxes ticked so far are sent (never a password).
    form = SignupExtraForm(data=request.POST)
    return render(request, "account/_signup_choices.html", {"form": form})
