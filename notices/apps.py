from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Notices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.collection import register_collection_probe

        from . import (
            personal_data,  # noqa: F401  (registry entries)
            services,
            termination,
            transfers,
        )
        from .models import ServiceTermination

        # A user's answer to a transfer notice is recorded in the consent ledger.
        if transfers.record_transfer_answer not in services.RESPONSE_HANDLERS.get("transfer", []):
            services.on_response("transfer", transfers.record_transfer_answer)
        # Sign-up, histories and consent (in the apps below) stop on the announced end date.
        register_collection_probe(termination.collection_stopped)
        # Whether collection has stopped is cached: any change to an announcement drops it.
        post_save.connect(
            termination.forget_cached_end,
            sender=ServiceTermination,
            dispatch_uid="notices.termination.saved",
        )
        post_delete.connect(
            termination.forget_cached_end,
            sender=ServiceTermination,
            dispatch_uid="notices.termination.deleted",
        )
