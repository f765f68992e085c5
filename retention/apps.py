from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = "Retention and legal holds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.holds import register_hold_probe

        from . import checks, holds, processing_record  # noqa: F401  (checks: the system checks)

        # Deletions and the end of the service (in the apps below) ask whether a hold applies.
        register_hold_probe(holds.active_hold_on)
        processing_record.register()  # periods and holds in the record of processing
