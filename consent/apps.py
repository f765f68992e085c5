from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        # Service tokens' and the ledger's admin live apart from consent/admin.py (policies,
        # purposes). The cookie consent's receivers: purposes cache, merge of a visitor's
        # choices at login; the services' receiver that drops a changed service token from the
        # cache.
        from accounts.demo import DemoPart, register_demo_part

        from . import admin_ledger, admin_tokens, checks, cookies, processing_record, services  # noqa: F401
        from .seed import seed_consent_catalogue

        processing_record.register()  # purposes and recipients in the record of processing

        # The demo's policy 1.0, purposes and SDK list, before its accounts.
        register_demo_part(
            DemoPart(
                key="consent",
                seed=lambda staff, options: seed_consent_catalogue() or "",
                before_accounts=True,
            )
        )
