from django.apps import AppConfig


class RequestsDsarConfig(AppConfig):
    name = "requests_dsar"
    verbose_name = "Data-subject requests"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from . import checks  # noqa: F401  (registers the system checks)

        autodiscover_modules("personal_data")
