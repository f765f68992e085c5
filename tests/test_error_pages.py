"""The portal answers errors with its own pages, in its layout and plain words (never Django's
debug page, which lists every URL pattern), and has a favicon."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

from config import urls as portal_urls


def forbidden(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("a bug")


# The portal's URLs plus two views that fail, for the 403 and 500 pages (pytest.mark.urls).
urlpatterns = [
    path("test-forbidden/", forbidden),
    path("test-broken/", broken),
    *portal_urls.urlpatterns,
]
handler500 = portal_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def page(response) -> str:
    return response.content.decode()


def test_an_unknown_address_answers_404_with_the_portals_own_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = page(response)
    assert "<title>Page not found · AllMyTracks Technology privacy</title>" in html
    assert "We can't find that page" in html and 'href="/"' in html
    assert "URLconf" not in html


def test_a_page_someone_may_not_open_answers_403_with_the_portals_own_page(client):
    response = client.get("/test-forbidden/")
    assert response.status_code == 403
    assert "You can't open this page" in page(response)


def test_a_request_for_an_unknown_host_answers_400_with_the_portals_own_page(client):
    response = client.get("/", headers={"host": "portal.evil.example"})
    assert response.status_code == 400
    assert "We couldn't understand that request" in page(response)


def test_a_server_error_answers_500_with_the_portals_page_without_the_requests_context():
    response = Client(raise_request_exception=False).get("/test-broken/")
    assert response.status_code == 500
    html = page(response)
    assert "Something went wrong on our side" in html
    # From settings: the page needs neither the request nor the database.
    assert "AllMyTracks Technology" in html and "customer-service@allmytracks.com" in html
    assert "a bug" not in html


def test_every_page_links_the_favicon_and_it_is_served(client):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page(
        client.get("/")
    )
    icon = client.get("/static/favicon.svg")
    assert (icon.status_code, icon["Content-Type"]) == (200, "image/svg+xml")
    assert b"<svg" in b"".join(icon.streaming_content)


def test_favicon_ico_leads_to_the_favicon(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/favicon.svg")
