"""Third-party login, end to end, through a real OpenID Connect identity provider.

The IdP (tests/idp) runs as a subprocess on loopback. The browser side of the flow is split: the
portal is driven with Django's test Client (host ``testserver``), the IdP with ``requests``. The
portal's back-channel calls (discovery, token exchange, JWKS, userinfo) really go to the IdP.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from accounts.models import LoginEvent, Profile, User
from guardianship.models import MinorAccount
from tests.factories import DEFAULT_PASSWORD
from tests.guardianship.factories import AdultFactory, MinorAccountFactory
from tests.idp.fixture import OIDCProvider, start_oidc_provider

PROVIDER_ID = "idp"
LOGIN_PATH = f"/accounts/oidc/{PROVIDER_ID}/login/"
CALLBACK_PATH = f"/accounts/oidc/{PROVIDER_ID}/login/callback/"
REDIRECT_URI = f"http://testserver{CALLBACK_PATH}"
SIGNUP_PATH = "/accounts/3rdparty/signup/"
CONNECTIONS_PATH = "/accounts/3rdparty/"
NEW_PASSWORD = "a-brand-new-password-77"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OIDCProvider]:
    provider = start_oidc_provider(tmp_path_factory.mktemp("idp"), REDIRECT_URI)
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(autouse=True)
def _portal_trusts_idp(settings, idp: OIDCProvider) -> None:
    # allauth reads SOCIALACCOUNT_PROVIDERS on every access, so overriding the setting suffices.
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": PROVIDER_ID,
                    "name": "Test IdP",
                    "client_id": idp.client_id,
                    "secret": idp.client_secret,
                    "settings": {"server_url": idp.issuer},
                }
            ],
            "OAUTH_PKCE_ENABLED": True,
        }
    }


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name!r} field in:\n{page[:2000]}"
    return html.unescape(match.group(1))


def _login_at_idp(idp: OIDCProvider, authorize_url: str) -> str:
    """Sign in at the IdP like a browser would; return where it sends the browser back to."""
    http = requests.Session()
    resp = http.get(authorize_url, timeout=10)
    assert resp.status_code == 200 and "/accounts/login/" in resp.url, resp.text[:2000]
    resp = http.post(
        resp.url,
        data={
            "csrfmiddlewaretoken": _hidden(resp.text, "csrfmiddlewaretoken"),
            "username": idp.username,
            "password": idp.password,
            "next": _hidden(resp.text, "next"),
        },
        allow_redirects=False,
        timeout=10,
    )
    # Follow redirects only while they stay on the IdP: testserver is not a real host.
    while resp.status_code in (301, 302, 303) and not resp.headers["Location"].startswith(
        "http://testserver"
    ):
        resp = http.get(
            urljoin(resp.url, resp.headers["Location"]), allow_redirects=False, timeout=10
        )
    assert resp.status_code == 302, f"{resp.status_code}: {resp.text[:2000]}\n{idp.log()}"
    return resp.headers["Location"]


def _third_party_login(client: Client, idp: OIDCProvider, **data: str):  # type: ignore[no-untyped-def]
    """Run the whole redirect dance; return the portal's answer to the IdP's callback.
    `data` goes with the first POST (process="connect" links the provider to the signed-in
    account)."""
    resp = client.post(LOGIN_PATH, data)
    assert resp.status_code == 302, resp.content[:2000]
    authorize_url = resp["Location"]
    assert authorize_url.startswith(f"{idp.issuer}/authorize"), authorize_url
    assert "code_challenge=" in authorize_url  # PKCE is on

    back = urlsplit(_login_at_idp(idp, authorize_url))
    assert (back.scheme, back.netloc, back.path) == ("http", "testserver", CALLBACK_PATH)
    assert "code=" in back.query
    # The portal now exchanges the code with the live IdP and fetches the userinfo.
    return client.get(f"{back.path}?{back.query}")


def _signup_page(client: Client, idp: OIDCProvider):  # type: ignore[no-untyped-def]
    resp = _third_party_login(client, idp)
    assert resp.status_code == 302, f"{resp.content[:3000]!r}\n{idp.log()}"
    assert resp["Location"] == SIGNUP_PATH
    page = client.get(SIGNUP_PATH)
    assert page.status_code == 200
    return page


def _signup_data(idp: OIDCProvider, **overrides: str) -> dict[str, str]:
    data = {"email": idp.email, "birth_date": "1990-04-01", "region": "DE", "agree": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _nothing_stored() -> bool:
    return not (
        User.objects.exists() or SocialAccount.objects.exists() or EmailAddress.objects.exists()
    )


def _signed_up_client(idp: OIDCProvider) -> Client:
    client = Client()
    _signup_page(client, idp)
    resp = client.post(SIGNUP_PATH, _signup_data(idp))
    assert resp.status_code == 302, resp.content[:3000]
    return client


@pytest.mark.django_db
def test_signup_page_discloses_what_the_provider_hands_over_and_stores_nothing(idp):
    page = _signup_page(Client(), idp).content.decode()

    disclosure = re.search(r'<dl class="facts" id="provider-disclosure">(.*?)</dl>', page, re.S)
    assert disclosure, page
    shown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", disclosure.group(1)))
    assert shown["E-mail address"] == idp.email
    assert shown["Nickname"] == idp.username
    assert shown["Name"] == f"{idp.first_name} {idp.last_name}"
    assert shown["Gender"] == "female"
    assert shown["Language / region"] == "de-DE"
    assert shown["Time zone"] == "Europe/Berlin"
    assert "Nothing is stored until you agree." in page
    assert _nothing_stored()


@pytest.mark.django_db
def test_signup_without_agreeing_is_refused_and_stores_nothing(idp):
    client = Client()
    _signup_page(client, idp)

    resp = client.post(SIGNUP_PATH, _signup_data(idp, agree=None))

    assert resp.status_code == 200
    assert resp.context["form"].errors["agree"] == [
        "Please agree, or cancel to sign up without this provider."
    ]
    assert "Please agree, or cancel to sign up without this provider." in resp.content.decode()
    assert _nothing_stored()


@pytest.mark.django_db
def test_agreeing_creates_linked_account_prefilled_profile_and_third_party_login_event(idp):
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    _signup_page(client, idp)

    resp = client.post(SIGNUP_PATH, _signup_data(idp))

    assert resp.status_code == 302 and resp["Location"] == "/dashboard/", resp.content[:3000]
    user = User.objects.get()
    assert user.email == idp.email
    assert not user.has_usable_password()
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == (PROVIDER_ID, account.extra_data["userinfo"]["sub"])
    assert EmailAddress.objects.get(user=user).verified  # the IdP vouches for it
    profile = Profile.objects.get(user=user)
    assert profile.nickname == idp.username
    assert profile.name == f"{idp.first_name} {idp.last_name}"
    assert profile.gender == Profile.Gender.FEMALE
    assert profile.birth_date == datetime.date(1990, 4, 1)
    assert profile.region == "DE"
    event = LoginEvent.objects.get(user=user)
    assert (event.method, event.provider) == (LoginEvent.Method.THIRD_PARTY, PROVIDER_ID)
    assert client.get("/dashboard/").wsgi_request.user == user


@pytest.mark.django_db
def test_returning_user_signs_in_without_the_signup_page(idp):
    _signed_up_client(idp)

    client = Client()
    resp = _third_party_login(client, idp)

    assert resp.status_code == 302 and resp["Location"] == "/dashboard/"
    user = User.objects.get()
    assert client.get("/dashboard/").wsgi_request.user == user
    assert SocialAccount.objects.filter(user=user).count() == 1
    assert [e.method for e in LoginEvent.objects.filter(user=user)] == ["third_party"] * 2


@pytest.mark.django_db
def test_linked_provider_is_listed_on_the_security_page(idp):
    client = _signed_up_client(idp)

    page = client.get("/dashboard/security/").content.decode()

    linked = re.search(r"<h2>Linked accounts</h2>(.*?)</section>", page, re.S)
    assert linked and "<li>Test IdP</li>" in linked.group(1)
    assert "No third-party account is linked." not in page


@pytest.mark.django_db
def test_third_party_only_user_cannot_unlink_last_provider_until_a_password_is_set(idp):
    client = _signed_up_client(idp)
    account = SocialAccount.objects.get()

    refused = client.post(CONNECTIONS_PATH, {"account": account.pk})

    assert refused.status_code == 200
    assert "Your account has no password set up." in refused.content.decode()
    assert SocialAccount.objects.filter(pk=account.pk).exists()

    resp = client.post(
        "/accounts/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert resp.status_code == 302, resp.content[:3000]
    resp = client.post(CONNECTIONS_PATH, {"account": account.pk})
    # With a password, removing a sign-in method asks for it again first (allauth's
    # reauthentication), then carries out the suspended request.
    assert resp.status_code == 302
    assert resp["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2F3rdparty%2F"
    assert SocialAccount.objects.filter(pk=account.pk).exists()
    resp = client.post(resp["Location"], {"password": NEW_PASSWORD})

    assert resp.status_code == 302 and resp["Location"] == CONNECTIONS_PATH
    assert not SocialAccount.objects.exists()
    page = client.get("/dashboard/security/").content.decode()
    assert "No third-party account is linked." in page
    # The account lives on, now with e-mail and password.
    assert Client().login(email=idp.email, password=NEW_PASSWORD)


@pytest.mark.django_db
def test_a_minor_waiting_for_a_guardian_cannot_link_a_third_party_account(idp):
    client = Client()
    client.force_login(MinorAccountFactory().user)

    resp = _third_party_login(client, idp, process="connect")

    assert resp.status_code == 302 and resp["Location"] == "/accounts/minor/"
    assert not SocialAccount.objects.exists()
    page = client.get(resp["Location"]).content.decode()
    assert "once your parent or guardian has approved your account" in page


@pytest.mark.django_db
@pytest.mark.parametrize("status", [MinorAccount.Status.SUSPENDED, MinorAccount.Status.ERASING])
def test_a_suspended_or_erasing_minor_cannot_link_a_third_party_account(idp, status):
    client = Client()
    client.force_login(MinorAccountFactory(status=status).user)

    resp = _third_party_login(client, idp, process="connect")

    assert resp.status_code == 302 and resp["Location"] == "/accounts/minor/"
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
def test_an_adult_signed_in_can_link_a_third_party_account(idp):
    adult = AdultFactory(email=idp.email)
    client = Client()
    client.force_login(adult)

    resp = _third_party_login(client, idp, process="connect")
    # Linking a sign-in method asks for the password again first, then carries on.
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/reauthenticate/")
    client.post(resp["Location"], {"password": DEFAULT_PASSWORD})

    assert SocialAccount.objects.filter(user=adult).count() == 1
