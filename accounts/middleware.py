"""The access log: one row per authenticated request, written after the response is built."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from core.collection import collection_stopped
from core.request_info import client_ip

from . import services

logger = logging.getLogger(__name__)


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = settings.ACCESS_LOG_ENABLED
        self.excluded = tuple(settings.ACCESS_LOG_EXCLUDE_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            self.enabled
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(self.excluded)
            and not collection_stopped()
        ):
            try:
                services.access_log_append(
                    user_id=user.pk,
                    ip_address=client_ip(request),
                    method=request.method or "",
                    path=request.path,
                    status_code=response.status_code,
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except DatabaseError:
                # The log must never turn a served page into an error; say so without details.
                logger.warning("access log entry could not be written")
        return response
