"""Service tokens for the consent check API: `Authorization: Service svc_...`.

Another service of the company asks "may I process purpose P for user U now?" with a token
staff created in admin. Only a hash of the token is stored; a token is checked on every
request, so revoking it in admin takes effect at once. The token names a service, not a
person: the request stays anonymous (so it is neither access-logged nor user-throttled) and
`request.auth` carries the ServiceToken row.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.authentication import presented_credential

from . import cache_reads
from .models import ServiceToken
from .services import service_token_authenticate, service_token_cache_key


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Service"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ServiceToken] | None:
        secret = presented_credential(request, self.keyword)
        if secret is None:
            return None
        # The token and what the view reads next (its `read_ahead_keys`), in one cache round
        # trip: the check API's cost is mostly round trips. The view finds them in
        # `request.read_ahead`.
        view = (request.parser_context or {}).get("view")
        keys_of_view = getattr(view, "read_ahead_keys", None)
        read_ahead: list[str] = keys_of_view(request) if keys_of_view is not None else []
        found = cache_reads.get_many([service_token_cache_key(secret), *read_ahead])
        if read_ahead:
            request.read_ahead = found  # type: ignore[attr-defined]
        token = service_token_authenticate(secret, found=found)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked service token.")
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "consent.authentication.ServiceTokenAuthentication"
    name = "serviceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Service <token>`: a service token with the `consent:check` scope, "
            "created by staff in admin.",
        }


class HasServiceScope(BasePermission):
    """A service token carrying the view's `required_scope`.

    No token is a 401 (`WWW-Authenticate: Service`); a token without the scope a 403.
    """

    message = "This service token lacks the scope this endpoint needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        scope = getattr(view, "required_scope", None)
        return isinstance(token, ServiceToken) and scope is not None and scope in token.scopes
