"""The record of processing activities is generated from the code and the data: every
registry category, purpose, third party and connected system is in it (so it cannot drift),
and staff read it in admin, print it, or download it as CSV."""

import pytest
from django.urls import reverse

from core import processing_record
from core.registry import registry
from tests.connectors.factories import ConnectedSystemFactory
from tests.factories import (
    PrivacyOfficerFactory,
    PurposeFactory,
    SupportAgentFactory,
    ThirdPartyFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db


def cells() -> set[str]:
    return {cell for table in processing_record.record() for row in table.rows for cell in row}


def test_every_registry_category_purpose_third_party_and_system_is_in_the_record():
    party = ThirdPartyFactory(name="Crash reporter")
    purpose = PurposeFactory(key="newsletter", name="Newsletter")
    purpose.third_parties.add(party)
    system = ConnectedSystemFactory(name="Support desk")
    found = cells()
    assert {entry.category for entry in registry} <= found
    assert {entry.label for entry in registry} <= found
    assert {str(entry.model._meta.verbose_name_plural).capitalize() for entry in registry} <= found
    assert {"Newsletter", "Crash reporter", "Support desk"} <= found
    purposes = next(t for t in processing_record.record() if t.section.key == "purposes")
    (row,) = [r for r in purposes.rows if r[0] == "Newsletter"]
    assert row[1] == "Your consent" and row[4] == "Crash reporter"
    assert system.name in found


def test_the_retention_periods_in_force_and_the_security_measures_are_in_it(settings):
    settings.RECORD_SECURITY_MEASURES = ["Backups encrypted and kept in the EU"]
    tables = {t.section.key: t for t in processing_record.record()}
    assert tables["retention"].rows  # every retention rule, with its period
    assert all(row[2].endswith(" days") for row in tables["retention"].rows)
    assert tables["security"].rows == [["Backups encrypted and kept in the EU"]]


def test_staff_read_print_and_download_the_record_in_admin():
    agent = signed_in(SupportAgentFactory())
    assert reverse("admin:processing_record") in agent.get(reverse("admin:index")).content.decode()
    page = agent.get(reverse("admin:processing_record"))
    assert page.status_code == 200
    assert "Categories of personal data" in page.content.decode()
    printable = agent.get(reverse("admin:processing_record_print"))
    assert "<h1>Record of processing activities</h1>" in printable.content.decode()
    download = agent.get(reverse("admin:processing_record_csv"))
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    assert "Categories of personal data" in download.content.decode()


def test_the_record_needs_the_admins_second_factor(client):
    officer = PrivacyOfficerFactory()
    client.force_login(officer)
    assert client.get(reverse("admin:processing_record")).status_code == 302
