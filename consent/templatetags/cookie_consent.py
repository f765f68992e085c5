"""`{% consent_allows "analytics" as allowed %}`: include a category's scripts only when allowed.

`{% cookie_consent as cc %}` gives the whole choice (`cc.decided`, `cc.allowed.analytics`,
`cc.gpc`, `cc.categories`) for the banner and the settings.
"""

from __future__ import annotations

from typing import Any

from django import template

from consent import cookies

register = template.Library()


@register.simple_tag(takes_context=True)
def consent_allows(context: dict[str, Any], category: str) -> bool:
    request = context.get("request")
    return request is not None and cookies.consent_allows(request, category)


@register.simple_tag(takes_context=True)
def cookie_consent(context: dict[str, Any]) -> cookies.CookieConsent | None:
    request = context.get("request")
    return cookies.cookie_consent_for(request) if request is not None else None
