"""Proves the test OIDC identity provider works on its own (no portal involved).

Run: .venv/bin/python -m pytest tests/idp -p no:django -p no:cacheprovider -o addopts=""
"""

import base64
import html
import json
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

pytestmark = pytest.mark.integration

REDIRECT_URI = "http://testserver/accounts/oidc/idp/login/callback/"


@pytest.fixture
def oidc_redirect_uri():
    return f"http://127.0.0.1:9/unused/ {REDIRECT_URI}"  # several URIs, space-separated


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_discovery_and_authorization_code_flow(oidc_provider):
    idp = oidc_provider
    http = requests.Session()

    config = http.get(idp.discovery_url, timeout=10).json()
    assert config["issuer"] == idp.issuer == f"http://127.0.0.1:{idp.port}/o"
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert config[key].startswith(idp.issuer + "/")
    assert "RS256" in config["id_token_signing_alg_values_supported"]
    assert {"email", "nickname", "gender"} <= set(config["claims_supported"])

    # Authorization request: not logged in yet, so the IdP redirects to its login page.
    resp = http.get(
        config["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": idp.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": "xyz",
            "nonce": "n-0S6",
        },
        timeout=10,
    )
    assert resp.status_code == 200 and "/accounts/login/" in resp.url
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', resp.text).group(1)
    next_url = re.search(r'name="next" value="([^"]+)"', resp.text).group(1)

    # Log in, then follow redirects only while they stay on the IdP.
    resp = http.post(
        resp.url,
        data={
            "csrfmiddlewaretoken": csrf,
            "username": idp.username,
            "password": idp.password,
            "next": html.unescape(next_url),
        },
        allow_redirects=False,
        timeout=10,
    )
    while resp.status_code in (301, 302, 303) and resp.headers["Location"].startswith("/"):
        resp = http.get(urljoin(idp.base_url, resp.headers["Location"]), allow_redirects=False)
    assert resp.status_code == 302, resp.text
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["xyz"]

    token = requests.post(
        config["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "client_id": idp.client_id,
            "client_secret": idp.client_secret,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    tokens = token.json()
    id_token = jwt_claims(tokens["id_token"])
    assert id_token["iss"] == idp.issuer  # allauth checks iss and aud
    assert id_token["aud"] == idp.client_id
    assert id_token["nonce"] == "n-0S6"

    userinfo = requests.get(
        config["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo["email"] == idp.email
    assert userinfo["email_verified"] is True
    assert userinfo["nickname"] == idp.username == userinfo["preferred_username"]
    assert userinfo["name"] == f"{idp.first_name} {idp.last_name}"
    assert userinfo["gender"] == "female"
    assert userinfo["locale"] == "de-DE" and userinfo["zoneinfo"] == "Europe/Berlin"
    assert "address" not in userinfo  # needs the "address" scope
    assert userinfo["sub"]
