"""Which engine fulfils which request type."""

from __future__ import annotations

from collections.abc import Callable

from .models import DataSubjectRequest, RequestType


def _handlers() -> dict[str, Callable[[DataSubjectRequest], None]]:
    from . import corrections, erasure, export, processing

    return {
        RequestType.ACCESS: export.fulfil_export,
        RequestType.COPY: export.fulfil_export,
        RequestType.TRANSFER: export.fulfil_export,
        RequestType.DELETE: erasure.fulfil_erasure,
        RequestType.CORRECT: corrections.fulfil_correction,
        RequestType.SUPPLEMENT: corrections.fulfil_correction,
        RequestType.WITHDRAW_CONSENT: processing.fulfil_withdraw_consent,
        RequestType.RESTRICT: processing.fulfil_restriction,
    }


def run_engine(request: DataSubjectRequest) -> None:
    _handlers()[request.type](request)
