"""Honours the Global Privacy Control signal before any view runs (rules in `consent.gpc`)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from . import cookies, gpc

# Nothing here renders a choice or processes personal data for a purpose.
EXCLUDED_PREFIXES = ("/static/", "/healthz", "/.well-known/", "/favicon.ico")


class GlobalPrivacyControlMiddleware:
    """Records the signal's refusals for the request's subject when they change its state.

    Runs after the authentication middleware: a signed-in user's own ledger receives them.
    An anonymous request without a visitor id is not given one here: nothing is on for it
    anyway (nothing is pre-ticked), and a client that keeps no cookies would otherwise start a
    new ledger chain on every request. The refusal is recorded as soon as the visitor has an
    id, before any choice of theirs (see `cookies.cookie_choices_record`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if gpc.gpc_in_force(request) and not request.path.startswith(EXCLUDED_PREFIXES):
            subject = cookies.subject_of(request)
            if subject is not None:
                context = None
                if subject.user is not None:
                    from .services import collection_context

                    context = collection_context(request)
                gpc.gpc_signal_apply(subject=subject, context=context)
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and cookies.VISITOR_COOKIE in request.COOKIES:
            # The visitor's choices were merged at sign-in; the browser's id must not outlive
            # it, or the next person signing in on this browser would inherit the choices.
            response.delete_cookie(cookies.VISITOR_COOKIE)
        if response.get("Content-Type", "").startswith("text/html"):
            # Pages say whether the signal is in force: a shared cache must keep them apart.
            patch_vary_headers(response, ("Sec-GPC",))
        return response
