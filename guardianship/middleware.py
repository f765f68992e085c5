"""A minor waiting for their guardian's approval reaches only the waiting page.

While their account is `awaiting_guardian`, `suspended` or `erasing`, every dashboard page and
API route that rests on their consent is refused: pages redirect to the waiting page
(/accounts/minor/), the API answers 403. What stays open needs no consent: signing in and out
and the account's own security pages (/accounts/; but linking a third-party account, which
would store the provider's data, is refused by `adapters.SocialAccountAdapter`), the guardian
pages, the policy and public pages (but not recording cookie choices: their guardian decides),
their data-subject requests (a minor may always ask for a copy or delete their account), their
files, and health checks.

API calls with a personal token are checked too: DRF authenticates them after this middleware,
so the token is looked up here (read-only) to find whose it is.

It also brings a guardian who opened an invitation while signed out back to it once they have
signed in (or signed up and confirmed their address).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import API_TOKEN_PREFIX, hash_token_secret

from .flow import waiting_status

OPEN_PREFIXES = (
    "/accounts/",
    "/static/",
    "/healthz",
    "/.well-known/",
    "/favicon.ico",
    "/files/",
    "/dashboard/requests/",
    "/api/v1/requests/",
    "/api/schema/",
    "/api/docs/",
    "/privacy/",
)
# Open for reading, but a choice posted there would record consent.
CHOICE_PREFIXES = ("/privacy/cookies/",)
API_PREFIX = "/api/"
WAITING_MESSAGE = (
    "Your account waits for your parent's or guardian's approval: until they approve, only "
    "this page is open to you."
)
ERASING_MESSAGE = "Your account is being deleted: no guardian approved it."


def _token_user_id(request: HttpRequest) -> int | None:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].startswith(API_TOKEN_PREFIX):
        return None
    return (
        ApiToken.objects.filter(key_hash=hash_token_secret(parts[1]))
        .values_list("user_id", flat=True)
        .first()
    )


class MinorGuardianMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _refused(self, request: HttpRequest) -> bool:
        path = request.path
        if path.startswith(CHOICE_PREFIXES):
            return request.method not in ("GET", "HEAD", "OPTIONS")
        return not path.startswith(OPEN_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        if user_id is None and request.path.startswith(API_PREFIX):
            user_id = _token_user_id(request)
        if user_id is not None and self._refused(request):
            status = waiting_status(user_id)
            if status is not None:
                return self._to_waiting_page(request, status)
        if user_id is not None and request.method == "GET":
            pending = request.session.get("guardian_invitation_pending")
            if pending and request.path == reverse("dashboard:home"):
                del request.session["guardian_invitation_pending"]
                return HttpResponseRedirect(pending)
        return self.get_response(request)

    def _to_waiting_page(self, request: HttpRequest, status: str) -> HttpResponse:
        text = ERASING_MESSAGE if status == "erasing" else WAITING_MESSAGE
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": text, "code": "guardian_approval_required"}, status=403)
        if request.method != "GET" and hasattr(request, "_messages"):
            messages.info(request, text)
        return HttpResponseRedirect(reverse("minor:waiting"), status=303)
