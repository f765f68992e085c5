"""Consent receipts: Kantara Consent Receipt v1.1, one per event, downloaded by its owner only."""

import json
from pathlib import Path

import jsonschema
import pytest
from django.urls import reverse

from consent import ledger, services
from consent.models import ConsentEvent, Method
from consent.receipts import receipt_for
from core.models import AuditLogEntry
from tests.factories import PolicyVersionFactory, PurposeFactory, ThirdPartyFactory, UserFactory

pytestmark = pytest.mark.django_db

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "data" / "kantara-consent-receipt-v1_1-schema.json").read_text()
)


def give(user, purpose):
    return services.consent_give(
        user=user, purpose=purpose, method=Method.CONSENT_CENTER, actor=user
    )


def advertising():
    purpose = PurposeFactory(
        key="ads",
        pii_categories=["15 - Behavioural", "6 - Health"],
        kantara_purpose_category="8 - Marketing",
    )
    purpose.third_parties.add(ThirdPartyFactory(name="AdCo"), ThirdPartyFactory(name="Pixel"))
    return purpose


@pytest.mark.parametrize("third_parties", [False, True])
def test_a_receipt_for_consent_given_is_valid_against_the_kantara_schema(user, third_parties):
    PolicyVersionFactory()
    purpose = advertising() if third_parties else PurposeFactory()
    jsonschema.validate(receipt_for(give(user, purpose)), SCHEMA)


def test_a_receipt_for_a_withdrawal_is_valid_and_says_withdrawn(user):
    purpose = PurposeFactory()
    give(user, purpose)
    event = services.consent_withdraw(
        user=user, purpose=purpose, method=Method.CONSENT_CENTER, actor=user
    )
    receipt = receipt_for(event)
    jsonschema.validate(receipt, SCHEMA)
    assert receipt["decision"] == "withdrawn"


def test_a_receipt_names_the_subject_by_the_ledgers_pseudonym_only(user):
    receipt = receipt_for(give(user, PurposeFactory()))
    assert receipt["piiPrincipalId"] == ledger.user_subject_key(user.pk)
    assert user.email not in json.dumps(receipt)


def test_a_receipt_carries_the_event_id_time_and_kantara_version(user):
    event = give(user, PurposeFactory())
    receipt = receipt_for(event)
    assert (receipt["version"], receipt["consentReceiptID"], receipt["consentTimestamp"]) == (
        "KI-CR-v1.1.0",
        str(event.uuid),
        int(event.created_at.timestamp()),
    )


def test_a_receipt_names_the_third_parties_and_categories_of_its_purpose(user):
    purpose = advertising()
    entry = receipt_for(give(user, purpose))["services"][0]["purposes"][0]
    assert (entry["thirdPartyDisclosure"], entry["thirdPartyName"]) == (True, "AdCo, Pixel")
    assert (entry["purposeCategory"], entry["consentType"]) == (["8 - Marketing"], "EXPLICIT")


def test_a_receipt_marks_sensitive_categories(user):
    receipt = receipt_for(give(user, advertising()))
    assert (receipt["sensitive"], receipt["spiCat"]) == (True, ["6 - Health"])


def test_a_receipt_links_the_policy_version_it_was_given_under(user, settings):
    settings.PORTAL_URL = "https://privacy.example.org"
    PolicyVersionFactory(version="3.1")
    receipt = receipt_for(give(user, PurposeFactory()))
    assert receipt["policyUrl"] == "https://privacy.example.org/privacy/policy/3.1/"


def test_the_controller_comes_from_settings(user, settings):
    settings.COMPANY_NAME = "Example Corp"
    settings.COMPANY_PHONE = "+33 1 23 45 67 89"
    controller = receipt_for(give(user, PurposeFactory()))["piiControllers"][0]
    assert (controller["piiController"], controller["phone"]) == (
        "Example Corp",
        "+33 1 23 45 67 89",
    )


def test_the_receipt_downloads_from_the_dashboard_as_a_json_attachment(user, user_client):
    event = give(user, PurposeFactory())
    response = user_client.get(reverse("consent:receipt", args=[event.uuid]))
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="consent-receipt-{event.uuid}.json"'
    )
    jsonschema.validate(json.loads(response.content), SCHEMA)


def test_another_users_receipt_is_not_found(user_client):
    other = UserFactory()
    event = give(other, PurposeFactory())
    assert user_client.get(reverse("consent:receipt", args=[event.uuid])).status_code == 404


def test_a_receipt_download_is_audited(user, user_client):
    event = give(user, PurposeFactory())
    user_client.get(reverse("consent:receipt", args=[event.uuid]))
    entry = AuditLogEntry.objects.get(action="consent.receipt_downloaded")
    assert (entry.actor_user_id, entry.data) == (user.pk, {"event": str(event.uuid)})


# --- The purpose as it was when the decision was made ---------------------------------------------


def test_a_third_party_added_to_a_purpose_after_the_event_is_not_on_its_receipt(user):
    purpose = advertising()
    event = give(user, purpose)
    purpose.third_parties.add(ThirdPartyFactory(name="LateCo"))
    entry = receipt_for(ConsentEvent.objects.get(pk=event.pk))["services"][0]["purposes"][0]
    assert entry["thirdPartyName"] == "AdCo, Pixel"


def test_a_purpose_described_anew_after_the_event_keeps_its_old_words_on_the_receipt(user):
    purpose = PurposeFactory(name="Newsletter", description="A monthly letter.")
    event = give(user, purpose)
    purpose.description = "A daily letter, shared with partners."
    purpose.pii_categories = ["6 - Health"]
    purpose.save()
    receipt = receipt_for(ConsentEvent.objects.get(pk=event.pk))
    assert receipt["services"][0]["purposes"][0]["purpose"] == "Newsletter: A monthly letter."
    assert receipt["sensitive"] is False


def test_a_receipt_from_a_snapshot_is_valid_against_the_kantara_schema(user):
    event = give(user, advertising())
    jsonschema.validate(receipt_for(ConsentEvent.objects.get(pk=event.pk)), SCHEMA)


def test_an_event_recorded_before_snapshots_were_kept_shows_the_purpose_as_it_is_now(user):
    purpose = advertising()
    event = give(user, purpose)
    event.purpose_snapshot = None  # as events recorded before the snapshot column existed
    purpose.third_parties.add(ThirdPartyFactory(name="LateCo"))
    receipt = receipt_for(event)
    jsonschema.validate(receipt, SCHEMA)
    assert receipt["services"][0]["purposes"][0]["thirdPartyName"] == "AdCo, LateCo, Pixel"
