"""The one parser of `Authorization: <scheme> <credential>` for the API's token schemes."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request


def presented_credential(request: Request, keyword: str) -> str | None:
    """The credential given with `keyword`, None when another scheme (or none) is used.

    A malformed header for this scheme is refused outright (401), never passed on.
    """
    parts = authentication.get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower().encode():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Malformed Authorization header.")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Malformed token.") from exc
