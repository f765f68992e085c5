"""The consent center: every purpose explained, one click to give and one to withdraw, the
whole history with receipts, nothing pre-ticked, nothing offered to a minor that is not for one."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent import ledger, services
from consent.models import ConsentEvent, Method
from tests.factories import ProfileFactory, PurposeFactory, ThirdPartyFactory

pytestmark = pytest.mark.django_db

CENTER = "/dashboard/consent/"


def page(client):
    response = client.get(CENTER)
    assert response.status_code == 200
    return response.content.decode()


def click(client, purpose, decision):
    return client.post(reverse("consent:decide", args=[purpose.key]), {"decision": decision})


def allowed(user, purpose):
    return ledger.is_allowed(ledger.user_subject_key(user.pk), purpose).allowed


@pytest.fixture
def newsletter():
    purpose = PurposeFactory(
        key="newsletter", name="Newsletter", description="A monthly e-mail about new features."
    )
    purpose.third_parties.add(ThirdPartyFactory(key="mailer", name="MailerCo"))
    return purpose


def test_the_center_is_at_dashboard_consent():
    assert reverse("consent:center") == CENTER


def test_the_center_shows_each_purpose_with_its_description_basis_and_third_parties(
    user_client, newsletter
):
    html = page(user_client)
    assert "A monthly e-mail about new features." in html
    assert "Your consent" in html  # the legal basis
    assert 'href="/privacy/third-parties/#mailer">MailerCo</a>' in html


def test_an_optional_purpose_starts_off_with_a_button_to_give_it(user_client, newsletter):
    html = page(user_client)
    assert '<span class="badge warn">Off</span>' in html
    assert 'name="decision" value="given"' in html


def test_one_click_gives_consent(user, user_client, newsletter):
    response = click(user_client, newsletter, "given")
    assert response.status_code == 302
    assert allowed(user, newsletter)


def test_one_click_withdraws_consent_and_it_stops_at_once(user, user_client, newsletter):
    click(user_client, newsletter, "given")
    click(user_client, newsletter, "withdrawn")
    assert not allowed(user, newsletter)
    assert ConsentEvent.objects.filter(method=Method.CONSENT_CENTER).count() == 2


def test_a_given_consent_shows_a_withdraw_button_in_the_same_style(user_client, newsletter):
    click(user_client, newsletter, "given")
    form = re.search(
        r'<form method="post" action="[^"]*newsletter/">(.*?)</form>', page(user_client), re.S
    )
    assert 'value="withdrawn"' in form.group(1)
    assert '<button type="submit">Withdraw consent' in form.group(1)


def test_a_purpose_needed_for_the_service_is_explained_and_has_no_switch(user_client):
    PurposeFactory(key="accounts", name="Your account", legal_basis="contract", is_optional=False)
    html = page(user_client)
    assert "Needed for the service" in html
    assert "Our contract with you: the service you signed up for needs it." in html
    assert reverse("consent:decide", args=["accounts"]) not in html


def test_posting_a_switch_for_a_required_purpose_changes_nothing(user_client):
    purpose = PurposeFactory(key="security", legal_basis="legal_obligation", is_optional=False)
    click(user_client, purpose, "withdrawn")
    assert not ConsentEvent.objects.exists()


def test_the_history_lists_each_event_with_a_receipt_link(user, user_client, newsletter):
    click(user_client, newsletter, "given")
    click(user_client, newsletter, "withdrawn")
    html = page(user_client)
    for event in ConsentEvent.objects.all():
        assert reverse("consent:receipt", args=[event.uuid]) in html


def test_a_minor_is_not_shown_a_purpose_not_offered_to_minors():
    today = timezone.localdate()
    child = ProfileFactory(birth_date=today.replace(year=today.year - 14)).user
    PurposeFactory(key="ads", name="Personalised advertising", offered_to_minors=False)
    client = Client()
    client.force_login(child)
    assert "Personalised advertising" not in page(client)


def test_a_minor_posting_for_a_purpose_not_offered_to_minors_gets_404_and_nothing_recorded():
    today = timezone.localdate()
    child = ProfileFactory(birth_date=today.replace(year=today.year - 14)).user
    purpose = PurposeFactory(key="ads", offered_to_minors=False)
    client = Client()
    client.force_login(child)
    assert click(client, purpose, "given").status_code == 404
    assert not ConsentEvent.objects.exists()


def test_the_global_privacy_control_notice_shows_when_the_signal_is_sent(user_client):
    PurposeFactory(key="sale", name="Sale of data", refused_by_gpc=True)
    html = user_client.get(CENTER, headers={"Sec-GPC": "1"}).content.decode()
    assert "Global Privacy Control is on" in html
    assert "Global Privacy Control is on" not in page(user_client)


def test_the_center_has_no_inline_script_or_style(user, user_client, newsletter):
    services.consent_give(user=user, purpose=newsletter, method=Method.CONSENT_CENTER, actor=user)
    html = page(user_client)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html)


def test_the_dashboard_links_to_the_center(user_client):
    html = user_client.get(reverse("dashboard:home")).content.decode()
    assert html.count(f'href="{CENTER}"') >= 2  # the navigation and the card


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    assert client.get(CENTER).url.startswith(reverse("account_login"))


def test_the_consent_center_shows_who_received_the_users_data(db):
    from consent.services import disclosure_record
    from tests.factories import ThirdPartyFactory, UserFactory

    owner, other = UserFactory(), UserFactory()
    recipient = ThirdPartyFactory(name="Payments Partner Ltd")
    disclosure_record(
        user=owner,
        third_party=recipient,
        purpose=None,
        data_categories=["Payment status"],
        description="",
    )
    disclosure_record(
        user=other,
        third_party=ThirdPartyFactory(name="Someone Else's Recipient"),
        purpose=None,
        data_categories=["Contact"],
        description="",
    )
    from django.test import Client

    client = Client()
    client.force_login(owner)
    page = client.get("/dashboard/consent/").content.decode()
    assert "Payments Partner Ltd" in page and "Payment status" in page
    assert "Someone Else" not in page
