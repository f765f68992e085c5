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
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.authentication import presented_credential

from .models import ServiceToken
from .services import service_token_authenticate


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Service"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ServiceToken] | None:
        secret = presented_credential(request, self.keyword)
        if secret is None:
            return None
        token = service_token_authenticate(secret)
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


class ServiceTokenThrottle(SimpleRateThrottle):
    """Per service token (API_THROTTLE_CONSENT_CHECK), per address before authentication."""

    scope = "consent_check"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        token = request.auth
        ident = f"token-{token.pk}" if isinstance(token, ServiceToken) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
