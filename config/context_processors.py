from django.conf import settings
from django.http import HttpRequest


def company(request: HttpRequest) -> dict[str, str]:
    return {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "COMPANY_CONTACT_EMAIL": settings.COMPANY_CONTACT_EMAIL,
    }
