"""The demo consent catalogue: policy 1.0, the policy's purposes, labelled demo SDK entries."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command

from consent.kantara import PII_CATEGORIES, PURPOSE_CATEGORIES
from consent.models import LegalBasis, PolicyVersion, Purpose, ThirdParty
from consent.policies import current_policy
from consent.seed import DEMO_KEY_PREFIX, policy_text_to_markdown, seed_consent_catalogue
from core.models import AuditLogEntry
from tests.consent.policy_factories import published

pytestmark = pytest.mark.django_db

OPTIONAL = {"location", "personalised-content-and-ads", "marketing-email", "analytics-sdk"}


def counts() -> tuple[int, ...]:
    return (
        PolicyVersion.objects.count(),
        Purpose.objects.count(),
        ThirdParty.objects.count(),
        Purpose.third_parties.through.objects.count(),
        AuditLogEntry.objects.filter(action="policy.published").count(),
    )


def test_seed_is_idempotent():
    seed_consent_catalogue()
    first = counts()
    seed_consent_catalogue()
    assert counts() == first
    assert first[:3] == (1, 12, 4)


def test_seed_demo_command_runs_twice(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first


def test_seed_publishes_policy_1_0_with_the_dates_the_text_gives():
    seed_consent_catalogue()
    policy = current_policy()
    assert policy is not None and policy.version == "1.0" and policy.is_published
    assert policy.last_updated == policy.effective_on == datetime.date(2023, 6, 8)


def test_policy_section_titles_become_headings():
    text = "Privacy Policy\n\nIntro line.\n\nContact Us\n\nWrite to us.\n\nThe Company\n"
    markdown = policy_text_to_markdown(text)
    assert "## Contact Us" in markdown
    assert not markdown.startswith("Privacy Policy")  # the page shows the title
    assert "## The Company" not in markdown  # the closing signature stays a line


def test_numbered_items_stay_items_not_headings():
    markdown = policy_text_to_markdown("Title\n\n1. An item\n\n(1) A sub item\n\nEnd.\n")
    assert "#" not in markdown


def test_only_consent_purposes_are_optional():
    seed_consent_catalogue()
    optional = set(Purpose.objects.filter(is_optional=True).values_list("key", flat=True))
    assert optional == OPTIONAL
    assert (
        set(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT).values_list("key", flat=True))
        == OPTIONAL
    )


def test_profiling_and_marketing_are_not_offered_to_minors():
    seed_consent_catalogue()
    not_for_minors = Purpose.objects.filter(offered_to_minors=False).values_list("key", flat=True)
    assert set(not_for_minors) == {"personalised-content-and-ads", "marketing-email"}


def test_cookie_categories_and_gpc_follow_the_purposes():
    seed_consent_catalogue()
    by_key = {p.key: p for p in Purpose.objects.all()}
    assert by_key["analytics-sdk"].cookie_category == "analytics"
    assert by_key["personalised-content-and-ads"].cookie_category == "advertising"
    refused = {key for key, purpose in by_key.items() if purpose.refused_by_gpc}
    assert refused == {"personalised-content-and-ads", "analytics-sdk"}


def test_purposes_use_kantara_categories():
    seed_consent_catalogue()
    for purpose in Purpose.objects.all():
        assert purpose.pii_categories and set(purpose.pii_categories) <= set(PII_CATEGORIES)
        assert purpose.kantara_purpose_category in PURPOSE_CATEGORIES


def test_demo_sdks_are_marked_for_staff_and_described_plainly_to_the_public():
    from tests.factories import PrivacyOfficerFactory
    from tests.requests_dsar.staff import signed_in

    admin_client = signed_in(PrivacyOfficerFactory())
    seed_consent_catalogue()
    assert all(t.key.startswith(DEMO_KEY_PREFIX) for t in ThirdParty.objects.all())
    assert not any("replace" in t.description.lower() for t in ThirdParty.objects.all())
    listing = admin_client.get("/admin/consent/thirdparty/").content.decode()
    assert "demo&#x27;s examples" in listing or "demo's examples" in listing
    payments = Purpose.objects.get(key="payments")
    assert list(payments.third_parties.values_list("key", flat=True)) == ["demo-payments-sdk"]


def test_contact_address_comes_from_settings(settings):
    settings.COMPANY_CONTACT_EMAIL = "privacy@other-company.example"
    seed_consent_catalogue()
    crash = ThirdParty.objects.get(key="demo-crash-reporting-sdk")
    assert "privacy@other-company.example" in crash.opt_out


def test_seed_keeps_what_an_operator_changed():
    seed_consent_catalogue()
    Purpose.objects.filter(key="location").update(name="Where you are")
    ThirdParty.objects.filter(key="demo-push-sdk").update(active=False)
    seed_consent_catalogue()
    assert Purpose.objects.get(key="location").name == "Where you are"
    assert not ThirdParty.objects.get(key="demo-push-sdk").active


def test_seed_leaves_an_operators_own_policy_alone():
    published("7.0", last_updated=datetime.date(2024, 1, 1), effective_on=datetime.date(2024, 1, 1))
    seed_consent_catalogue()
    assert list(PolicyVersion.objects.values_list("version", flat=True)) == ["7.0"]
    assert Purpose.objects.filter(introduced_in__isnull=True).count() == 12
