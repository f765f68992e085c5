from django.apps import AppConfig


class GuardianshipConfig(AppConfig):
    name = "guardianship"
    verbose_name = "Guardianship"

    def ready(self) -> None:
        # The registry entries, the system checks, the signal receivers, and the ports of the
        # lower apps this app fills (accounts, consent, requests_dsar).
        from . import checks, ports  # noqa: F401
