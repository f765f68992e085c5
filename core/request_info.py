"""Who is asking: the client's IP address, a readable description of their device, and where
they may be sent next."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.core.internal.httpkit import get_client_ip as _allauth_client_ip
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from user_agents import parse as parse_user_agent

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class DeviceInfo:
    user_agent: str
    device: str
    browser: str
    operating_system: str


def client_ip(request: HttpRequest) -> str | None:
    """The client address, trusting X-Forwarded-For only as far as ALLAUTH_TRUSTED_PROXY_COUNT.

    One rule for rate limits (allauth) and our histories, so the two always agree.
    """
    try:
        return _allauth_client_ip(request)
    except Exception:  # a malformed X-Forwarded-For must never break a request
        return request.META.get("REMOTE_ADDR") or None


def describe_device(user_agent: str) -> DeviceInfo:
    user_agent = (user_agent or "")[:USER_AGENT_MAX_LENGTH]
    parsed = parse_user_agent(user_agent)
    if parsed.is_bot:
        device = "Bot"
    elif parsed.is_mobile:
        device = "Phone"
    elif parsed.is_tablet:
        device = "Tablet"
    elif parsed.is_pc:
        device = "Computer"
    else:
        device = "Other"
    brand = " ".join(p for p in (parsed.device.brand, parsed.device.model) if p and p != "Other")
    if brand:
        device = f"{device} ({brand})"[:100]
    browser = f"{parsed.browser.family} {parsed.browser.version_string}".strip()[:100]
    operating_system = f"{parsed.os.family} {parsed.os.version_string}".strip()[:100]
    return DeviceInfo(user_agent, device, browser, operating_system)


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` the request names, if it stays on this site; otherwise `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
