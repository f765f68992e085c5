"""allauth adapters: the portal's rules for accounts, third-party logins and MFA secrets."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest

from core import mail
from core.collection import collection_stopped
from core.crypto import field_fernet
from core.outbound import GuardedSession

from .models import User
from .ports import provider_link_refusal


def user_display(user: User) -> str:
    """How allauth names the person in its messages and e-mails: by their address, which they
    know (never the internal "User #11")."""
    return user.email or "your account"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # From the announced end of the service, no new account (and no new personal data).
        return not collection_stopped() and bool(super().is_open_for_signup(request))

    def clean_email(self, email: str) -> str:
        # allauth's own e-mail field has no length limit; the database column has one, and an
        # overlong address must be a form error, never a database error.
        limit = User._meta.get_field("email").max_length or 254
        if len(email) > limit:
            raise forms.ValidationError(f"An e-mail address has at most {limit} characters.")
        return super().clean_email(email)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # allauth's e-mails (address confirmation, password reset, sign-in codes) go through
        # the one mail seam like every other: the same context, never to an erased address.
        request = allauth_context.request
        subject, body = mail.render(
            template_prefix,
            {
                "request": request,
                "email": email,
                "current_site": get_current_site(request),
                **context,
            },
        )
        mail.send_rendered(self.format_email_subject(subject), body, [email])


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_auto_signup_allowed(self, request, sociallogin):  # type: ignore[no-untyped-def]
        # The user always sees what the provider hands over and agrees first.
        return False

    def pre_social_login(self, request, sociallogin):  # type: ignore[no-untyped-def]
        """Refuse linking a third-party account when an app says the signed-in user may not
        (`ports.link_check_register`: the guardianship app, while a minor's account needs a
        guardian). A linked account stores what the provider hands over (its profile claims).
        Runs on the provider's callback, before allauth stores anything.
        """
        from allauth.core.exceptions import ImmediateHttpResponse
        from allauth.socialaccount.providers.base import AuthProcess
        from django.contrib import messages
        from django.http import HttpResponseRedirect

        user = getattr(request, "user", None)
        if (
            sociallogin.state.get("process") == AuthProcess.CONNECT
            and user is not None
            and user.is_authenticated
        ):
            refusal = provider_link_refusal(user)
            if refusal is not None:
                messages.error(request, refusal.message)
                raise ImmediateHttpResponse(HttpResponseRedirect(refusal.redirect_to))
        super().pre_social_login(request, sociallogin)

    def get_requests_session(self):  # type: ignore[no-untyped-def]
        """Every call to a provider (token exchange, profile, a generic OpenID Connect
        provider's discovery document at a configured server_url) under the outbound address
        policy: no private or metadata addresses, HTTPS in production, no redirects."""
        from allauth.socialaccount import app_settings

        return GuardedSession(timeout=app_settings.REQUESTS_TIMEOUT)


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are encrypted at rest, with rotatable keys."""

    def encrypt(self, text: str) -> str:
        return field_fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return field_fernet().decrypt(encrypted_text.encode()).decode()
