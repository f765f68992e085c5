from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AnnouncementsConfig(AppConfig):
    name = "announcements"
    verbose_name = "Announcements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.collection import register_collection_probe
        from notices import admin_links, services

        from . import (
            personal_data,  # noqa: F401  (registry entries)
            termination,
            transfers,
        )
        from .admin_links import announcement_admin_url
        from .models import ServiceTermination

        # A user's answer to a transfer notice is recorded in the consent ledger.
        if transfers.record_transfer_answer not in services.RESPONSE_HANDLERS.get("transfer", []):
            services.on_response("transfer", transfers.record_transfer_answer)
        # Sign-up, histories and consent (in the apps below) stop on the announced end date.
        register_collection_probe(termination.collection_stopped)
        # A broadcast's admin page links to the announcement it tells.
        admin_links.register_owner(announcement_admin_url)
        # Whether collection has stopped is cached: any change to an announcement drops it.
        post_save.connect(
            termination.forget_cached_end,
            sender=ServiceTermination,
            dispatch_uid="announcements.termination.saved",
        )
        post_delete.connect(
            termination.forget_cached_end,
            sender=ServiceTermination,
            dispatch_uid="announcements.termination.deleted",
        )
