from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        # Service tokens' and the ledger's admin live apart from consent/admin.py (policies,
        # purposes). The cookie consent's receivers: purposes cache, merge of a visitor's
        # choices at login; the services' receiver that drops a changed service token from the
        # cache.
        from . import admin_ledger, admin_tokens, checks, cookies, services  # noqa: F401
