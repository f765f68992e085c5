"""Who is a minor: the age below which a guardian must consent, by region, as shipped and as
configured; and the age below which adult-only purposes are never offered."""

import datetime

import pytest

from accounts import jurisdictions

# Every entry of the shipped table, with the policy's own jurisdiction (China, by default)
# read as the policy says: no full capacity for civil conduct, under 18.
SHIPPED = {
    **{code: 13 for code in ["BE", "DK", "EE", "FI", "LV", "MT", "PT", "SE"]},
    **{code: 14 for code in ["AT", "BG", "CY", "IT", "LT", "ES"]},
    **{code: 15 for code in ["CZ", "FR", "GR"]},
    **{code: 16 for code in ["HR", "DE", "HU", "IE", "LU", "NL", "PL", "RO", "SK"]},
    "SI": 16,  # the GDPR default for the member state the list does not name
    "GB": 13,
    "US": 13,
    "IN": 18,
    "CN": 18,  # PIPL says 14; the policy's stricter reading applies in its own jurisdiction
}
DAY = datetime.date(2026, 3, 10)


@pytest.mark.parametrize(("region", "age"), sorted(SHIPPED.items()))
def test_each_region_of_the_table_has_its_age(region, age):
    assert jurisdictions.age_threshold(region) == age


@pytest.mark.parametrize(("region", "age"), sorted(SHIPPED.items()))
def test_a_person_is_a_minor_until_the_day_they_reach_their_regions_age(region, age):
    turning_today = DAY.replace(year=DAY.year - age)
    assert jurisdictions.is_minor(turning_today, region, on=DAY) is False
    assert jurisdictions.is_minor(turning_today + datetime.timedelta(days=1), region, on=DAY)


def test_every_statutory_entry_names_its_source():
    with open(jurisdictions.__file__) as module:
        source = module.read()
    for region in jurisdictions.STATUTORY_AGES:
        line = next(line for line in source.splitlines() if line.strip().startswith(f'"{region}"'))
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, region


def test_china_is_14_by_statute_when_it_is_not_the_policys_jurisdiction(settings):
    settings.PORTAL_JURISDICTION = "FR"
    assert jurisdictions.age_threshold("CN") == 14
    assert jurisdictions.age_threshold("FR") == 18  # now the policy's own jurisdiction


def test_a_region_the_table_does_not_name_gets_the_policys_own_reading():
    assert jurisdictions.age_threshold("BR") == 18
    assert jurisdictions.age_threshold("") == 18


def test_settings_override_an_entry_and_the_policy_age(settings):
    settings.GUARDIAN_CONSENT_AGES = {"si": 15, "US": 16}
    settings.POLICY_ADULT_AGE = 19
    assert (jurisdictions.age_threshold("SI"), jurisdictions.age_threshold("US")) == (15, 16)
    assert jurisdictions.age_threshold("CN") == 19
    assert jurisdictions.full_age("GB") == 19


def test_a_teenager_who_may_consent_alone_is_still_under_full_age_for_adult_only_purposes():
    fifteen = DAY.replace(year=DAY.year - 15)
    assert jurisdictions.is_minor(fifteen, "FR", on=DAY) is False
    assert jurisdictions.is_under_full_age(fifteen, "FR", on=DAY) is True


def test_someone_born_on_29_february_comes_of_age_on_1_march():
    assert jurisdictions.adult_on(datetime.date(2012, 2, 29), "DE") == datetime.date(2028, 2, 29)
    assert jurisdictions.adult_on(datetime.date(2012, 2, 29), "GB") == datetime.date(2025, 3, 1)
    assert jurisdictions.is_minor(datetime.date(2012, 2, 29), "GB", on=datetime.date(2025, 2, 28))
    assert not jurisdictions.is_minor(
        datetime.date(2012, 2, 29), "GB", on=datetime.date(2025, 3, 1)
    )


def test_no_date_of_birth_is_not_a_minors():
    assert jurisdictions.is_minor(None, "DE") is False
