from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "config.admin.PortalAdminSite"


class PortalConfig(AppConfig):
    """The portal as a whole: its own management commands (`run_schedule`). No models."""

    name = "config"
    label = "portal"
