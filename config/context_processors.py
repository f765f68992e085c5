from django.conf import settings
from django.http import HttpRequest


def company(request: HttpRequest) -> dict[str, object]:
    return {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "COMPANY_CONTACT_EMAIL": settings.COMPANY_CONTACT_EMAIL,
        # The policy's promise: a reply within this many days of confirming who you are.
        "RESPONSE_DAYS": settings.DSAR_RESPONSE_DAYS,
    }
