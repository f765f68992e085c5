"""System checks for the guardianship app: configuration that would otherwise fail at first use."""

from __future__ import annotations

import inspect
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from .verification import GuardianVerificationProvider


@register()
def check_guardian_verification_providers(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Each GUARDIAN_VERIFICATION_PROVIDERS path must import and name a concrete subclass of
    GuardianVerificationProvider with a label: otherwise the guardian's click on "verify"
    would be the first to find out, as a server error."""
    errors: list[Error] = []
    for name, path in settings.GUARDIAN_VERIFICATION_PROVIDERS.items():
        try:
            cls = import_string(path)
        except ImportError as exc:
            errors.append(
                Error(
                    f"Guardian verification provider {name!r}: {path!r} cannot be imported "
                    f"({exc}).",
                    hint="Give the dotted path of a class in GUARDIAN_VERIFICATION_PROVIDERS.",
                    id="guardianship.E001",
                )
            )
            continue
        if not (inspect.isclass(cls) and issubclass(cls, GuardianVerificationProvider)):
            errors.append(
                Error(
                    f"Guardian verification provider {name!r}: {path!r} is not a subclass of "
                    "guardianship.verification.GuardianVerificationProvider.",
                    id="guardianship.E002",
                )
            )
        elif inspect.isabstract(cls) or not isinstance(getattr(cls, "label", None), str):
            errors.append(
                Error(
                    f"Guardian verification provider {name!r}: {path!r} must implement start() "
                    "and complete() and set a label.",
                    id="guardianship.E003",
                )
            )
    return errors
