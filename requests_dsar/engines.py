"""Which engine fulfils which request type: one table, every engine imported by name."""

from __future__ import annotations

from collections.abc import Callable

from .corrections import fulfil_correction
from .erasure import fulfil_erasure
from .export import fulfil_export
from .models import DataSubjectRequest, RequestType
from .processing import fulfil_restriction, fulfil_withdraw_consent

Engine = Callable[[DataSubjectRequest], None]

HANDLERS: dict[str, Engine] = {
    RequestType.ACCESS: fulfil_export,
    RequestType.COPY: fulfil_export,
    RequestType.TRANSFER: fulfil_export,
    RequestType.DELETE: fulfil_erasure,
    RequestType.CORRECT: fulfil_correction,
    RequestType.SUPPLEMENT: fulfil_correction,
    RequestType.WITHDRAW_CONSENT: fulfil_withdraw_consent,
    RequestType.RESTRICT: fulfil_restriction,
}


def run_engine(request: DataSubjectRequest) -> None:
    """Fulfil `request` with the engine for its type."""
    HANDLERS[request.type](request)
