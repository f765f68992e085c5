from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connected systems"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import register_demo_part
        from consent import withdrawals
        from requests_dsar import systems

        from . import personal_data, processing_record  # noqa: F401  (personal_data: registry entries)
        from .demo import DEMO_PART
        from .request_systems import CONNECTED_SYSTEMS
        from .services import consent_withdrawal_push

        systems.register(CONNECTED_SYSTEMS)
        withdrawals.register(consent_withdrawal_push)
        register_demo_part(DEMO_PART)
        processing_record.register()  # the systems in the record of processing
