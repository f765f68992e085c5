"""The error answers every API endpoint's OpenAPI schema names alike."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

ERRORS = {
    401: OpenApiResponse(description="Not signed in."),
    403: OpenApiResponse(description="Not allowed."),
}
INPUT_ERRORS = {
    400: OpenApiResponse(description="Invalid input; the body names each field's problem."),
    415: OpenApiResponse(description="Only application/json is accepted."),
}


def not_found(description: str) -> dict[int, OpenApiResponse]:
    """The 404 of an endpoint that looks up one of the caller's own objects."""
    return {404: OpenApiResponse(description=description)}
