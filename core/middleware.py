"""The web tier's own cap on a request body, before anything reads it.

Django caps the fields of a form (DATA_UPLOAD_MAX_MEMORY_SIZE) and the number of files
(DATA_UPLOAD_MAX_NUMBER_FILES), but streams files of any size to temporary storage. A body
larger than REQUEST_BODY_MAX_BYTES (the largest legitimate upload: the relatives' documents)
is refused by its declared length with 413, unread. The proxy in front should refuse it
earlier still (docs/operations.md, Security model: nginx's client_max_body_size).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > settings.REQUEST_BODY_MAX_BYTES:
            if request.path.startswith("/api/"):
                return HttpResponse(
                    b'{"detail": "The request body is too large."}',
                    status=413,
                    content_type="application/json",
                )
            return HttpResponse(render_to_string("413.html", request=request), status=413)
        return self.get_response(request)
