from django.apps import AppConfig


class RequestsDsarConfig(AppConfig):
    name = "requests_dsar"
    verbose_name = "Data-subject requests"
