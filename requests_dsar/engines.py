"""Which engine fulfils which request type."""

from __future__ import annotations

from django.utils.module_loading import import_string

from .models import DataSubjectRequest, RequestType

# Dotted paths, imported when a request of that type is fulfilled: one engine that fails to
# import (or is still being written) cannot stop the others.
HANDLERS: dict[str, str] = {
    RequestType.ACCESS: "requests_dsar.export.fulfil_export",
    RequestType.COPY: "requests_dsar.export.fulfil_export",
    RequestType.TRANSFER: "requests_dsar.export.fulfil_export",
    RequestType.DELETE: "requests_dsar.erasure.fulfil_erasure",
    RequestType.CORRECT: "requests_dsar.corrections.fulfil_correction",
    RequestType.SUPPLEMENT: "requests_dsar.corrections.fulfil_correction",
    RequestType.WITHDRAW_CONSENT: "requests_dsar.processing.fulfil_withdraw_consent",
    RequestType.RESTRICT: "requests_dsar.processing.fulfil_restriction",
}


def run_engine(request: DataSubjectRequest) -> None:
    """Fulfil `request` with the engine for its type."""
    import_string(HANDLERS[request.type])(request)
