"""System checks: nothing holding a user's personal data may be missing from the registry."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, register

from .registry import registry


def _relates_to_user(model: Any, user_model: Any) -> bool:
    if model is user_model:
        return True
    return any(
        f.is_relation and f.concrete and f.related_model is user_model
        for f in model._meta.get_fields()
    )


@register("personal_data")
def check_personal_data_registry(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    errors: list[Error] = []
    for model in apps.get_models():
        if model._meta.proxy or not _relates_to_user(model, user_model):
            continue
        if registry.get(model) is None:
            errors.append(
                Error(
                    f"{model._meta.label} relates to the user but is not in the personal-data "
                    "registry, so exports and erasures would miss it.",
                    hint="Register it in its app's personal_data.py (core/registry.py).",
                    obj=model,
                    id="personal_data.E001",
                )
            )
    for entry in registry:
        for problem in entry.problems():
            errors.append(
                Error(
                    f"Personal-data registry entry {entry.model_label}: {problem}.",
                    id="personal_data.E002",
                )
            )
    return errors
