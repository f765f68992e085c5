from django.apps import AppConfig


class RelativesConfig(AppConfig):
    name = "relatives"
    verbose_name = "Relatives of deceased users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from requests_dsar.representatives import register_representation

        from . import mail, services

        # A relative's request is told to the relative, never to the deceased's mailbox.
        register_representation(
            teller=mail.notify_relative_of_request, silencer=services.is_relative_request
        )
