"""Questions a signed-in person answers before going on: which cookie choice applies, and
re-consent after a material policy change. Page views wait until they are answered.

Right after signing in, when a cookie choice made on this device while signed out disagrees
with the account's own earlier decision (`consent.cookies.visitor_choices_merge`), a GET page
view is sent to the question of which to keep; the cookies in question stay off until then.

When a material version has come into force since a signed-in user last made their choices
(a sign-up, re-consent or guardian event, recorded under the version then in force), even if a
minor version followed it, a GET page view is sent to the re-consent page, which shows what
changed and the choices, then continues to the page asked for. APIs, files, the policy pages
themselves, data-subject requests (someone who does not agree may delete their account),
sign-in and sign-out, admin and htmx fragments are never redirected.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from .cookies import CONFLICTS_SESSION_KEY

# Paths a pending re-consent never blocks: what the prompt links to (the policy and its diff),
# what must keep working for anyone (sign-in/out, files, health), and machine clients.
EXEMPT_PREFIXES = (
    "/api/",
    "/privacy/",
    "/accounts/",
    "/admin/",
    "/files/",
    "/healthz",
    "/.well-known/",
    "/favicon.ico",
)


class ConsentQuestionsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _applies(self, request: HttpRequest) -> bool:
        if request.method not in ("GET", "HEAD") or request.headers.get("HX-Request"):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        path = request.path
        static = (settings.STATIC_URL or "/static/", settings.MEDIA_URL or "/media/")
        # A user who does not agree may still delete their account or ask a question.
        requests = reverse("dsar:list")
        return not path.startswith((*EXEMPT_PREFIXES, requests, *(p for p in static if p != "/")))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._applies(request) and request.session.get(CONFLICTS_SESSION_KEY):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('cookies:conflicts')}?{query}")
        if self._applies(request):
            from .policies import current_policy
            from .selectors import reconsent_due

            reconsent_url = reverse("consent:reconsent")
            if request.path != reconsent_url and reconsent_due(
                request.user,  # type: ignore[arg-type]
                current_policy(),
            ):
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reconsent_url}?{query}")
        return self.get_response(request)
