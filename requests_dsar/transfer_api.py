"""GET /api/v1/transfers/pull/: another service pulls a transfer archive with a one-time token.

The token travels in `Authorization: Transfer <token>`, never in the URL, so no access log,
proxy log or browser history ever holds it. The token opens one archive once; it names no user,
so the request stays anonymous and has its own throttle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http.response import HttpResponseBase
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.authentication import presented_credential

from .downloads import archive_response
from .export import ArchiveGone, archive_open_decrypted, transfer_pull

_PRODUCT = re.compile(r"[A-Za-z0-9._-]{1,50}")


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This transfer token was already used, has expired, or its archive is gone."
    default_code = "gone"


class TransferTokenAuthentication(authentication.BaseAuthentication):
    """Reads `Authorization: Transfer <token>`.

    The token opens an archive, not an account: the request stays anonymous and `request.auth`
    carries the presented token, which the view redeems with `transfer_pull` (that is where it
    is checked, so that each refusal is audited with its reason).
    """

    keyword = "Transfer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, str] | None:
        token = presented_credential(request, self.keyword)
        if token is None:
            return None
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TransferTokenScheme(OpenApiAuthenticationExtension):
    target_class = "requests_dsar.transfer_api.TransferTokenAuthentication"
    name = "transferToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Transfer <token>`: the one-time token the requester issued.",
        }


class PresentsTransferToken(BasePermission):
    """Open to anyone (no account) who presents a transfer token; the view checks the token.

    Failing this permission is a 401 with `WWW-Authenticate: Transfer`.
    """

    message = "Send `Authorization: Transfer <token>`."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, str)


class TransferPullThrottle(SimpleRateThrottle):
    """Per client address, whoever asks (API_THROTTLE_TRANSFER_PULL)."""

    scope = "transfer_pull"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class JsonErrorsNegotiation(BaseContentNegotiation):
    """Errors are always JSON and the archive always a ZIP, whatever `Accept` says."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


def client_product(user_agent: str) -> str:
    """The product name of a user agent ("curl/8.5.0 ..." -> "curl"): nothing personal."""
    match = _PRODUCT.match(user_agent.strip())
    return match.group(0) if match else "unknown"


@extend_schema(
    tags=["transfers"],
    summary="Pull a transfer archive (once)",
    description=(
        "Downloads the ZIP archive of a transfer request with the one-time token its requester "
        "issued, sent as `Authorization: Transfer <token>`. The token is used up by the first "
        "pull and expires with the archive."
    ),
    responses={
        (200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The archive (JSON and CSV per category, manifest)."
        ),
        401: OpenApiResponse(description="No `Authorization: Transfer <token>` header."),
        404: OpenApiResponse(description="Unknown token."),
        410: OpenApiResponse(description="The token was used, or it or its archive expired."),
        429: OpenApiResponse(description="Too many attempts from this address; retry later."),
    },
)
class TransferPullView(APIView):
    authentication_classes = [TransferTokenAuthentication]
    permission_classes = [PresentsTransferToken]
    throttle_classes = [TransferPullThrottle]
    content_negotiation_class = JsonErrorsNegotiation

    def get(self, request: Request) -> HttpResponseBase:
        token = str(request.auth)
        client = client_product(request.headers.get("User-Agent", ""))
        try:
            archive = transfer_pull(token=token, client_description=client)
            if archive is None:
                raise exceptions.NotFound("Unknown transfer token.")
            chunks = archive_open_decrypted(archive)
        except (ArchiveGone, FileNotFoundError) as exc:
            raise Gone() from exc
        return archive_response(archive, chunks)
