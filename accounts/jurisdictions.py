"""Who is a minor: the age below which a guardian must consent, by country or region.

Two ages matter, and this module is the one place either is decided:

- `age_threshold(region)`: below it, a guardian must approve the account and decide on the
  person's consents (the table below, the policy's own reading for its jurisdiction, and
  settings.GUARDIAN_CONSENT_AGES on top). A region the table does not name gets the policy's
  own reading, the strictest answer.
- `full_age(region)`: below it, purposes not marked for minors (profiling, personalised
  advertising, marketing) are never offered, whatever a guardian approves. The policy speaks
  of minors as people without full capacity for civil conduct (settings.POLICY_ADULT_AGE, 18),
  and children's codes (the EU Digital Services Act Art. 28, the UK Age Appropriate Design
  Code, China's Minors Protection Law) protect everyone under 18 from such processing, even
  where a 13-year-old may consent to the service alone.

Settings are read at call time, never at import.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

# The age below which a guardian's consent is required, by ISO 3166-1 alpha-2 code.
STATUTORY_AGES: dict[str, int] = {
    # --- European Union: GDPR Art. 8(1), 16 unless a member state set 13 to 15 ------------------
    "BE": 13,  # Belgium: Law of 30 July 2018 on data protection, Art. 7
    "DK": 13,  # Denmark: Databeskyttelsesloven (Act 502/2018) s. 6(2)
    "EE": 13,  # Estonia: Isikuandmete kaitse seadus (2018) s. 8
    "FI": 13,  # Finland: Tietosuojalaki (1050/2018) s. 5
    "LV": 13,  # Latvia: Personal Data Processing Law (2018) s. 33
    "MT": 13,  # Malta: Data Protection Act (Cap. 586), S.L. 586.11 reg. 3
    "PT": 13,  # Portugal: Lei 58/2019, art. 16
    "SE": 13,  # Sweden: Dataskyddslagen (2018:218) ch. 2 s. 4
    "AT": 14,  # Austria: Datenschutzgesetz s. 4(4)
    "BG": 14,  # Bulgaria: Personal Data Protection Act, Art. 25c
    "CY": 14,  # Cyprus: Law 125(I)/2018, s. 8
    "IT": 14,  # Italy: Codice in materia di protezione dei dati personali, art. 2-quinquies
    "LT": 14,  # Lithuania: Law on the Legal Protection of Personal Data, Art. 6
    "ES": 14,  # Spain: Ley Orgánica 3/2018 (LOPDGDD), art. 7
    "CZ": 15,  # Czechia: Act 110/2019 on personal data processing, s. 7
    "FR": 15,  # France: Loi 78-17 Informatique et Libertés, art. 45
    "GR": 15,  # Greece: Law 4624/2019, Art. 21
    "HR": 16,  # Croatia: Act implementing the GDPR (NN 42/2018), Art. 19
    "DE": 16,  # Germany: no derogation, GDPR Art. 8(1)
    "HU": 16,  # Hungary: no derogation, GDPR Art. 8(1)
    "IE": 16,  # Ireland: Data Protection Act 2018, s. 31
    "LU": 16,  # Luxembourg: no derogation, GDPR Art. 8(1)
    "NL": 16,  # Netherlands: UAVG (Uitvoeringswet AVG), Art. 5
    "PL": 16,  # Poland: no derogation, GDPR Art. 8(1)
    "RO": 16,  # Romania: no derogation (Law 190/2018), GDPR Art. 8(1)
    "SK": 16,  # Slovakia: Act 18/2018 on personal data protection, s. 15
    # The GDPR default for the remaining member state (Slovenia's ZVOP-2 of 2023 sets 15: an
    # operator relying on it overrides this entry in GUARDIAN_CONSENT_AGES).
    "SI": 16,  # Slovenia: GDPR Art. 8(1) default
    # --- Elsewhere --------------------------------------------------------------------------
    "GB": 13,  # United Kingdom: UK GDPR Art. 8 as set by the Data Protection Act 2018, s. 9
    "US": 13,  # United States: COPPA, 15 U.S.C. s. 6501(1) and 16 CFR Part 312
    # China: PIPL Art. 28 and 31, a minor under 14's information is sensitive and needs a
    # guardian's consent. Where China is the policy's own jurisdiction (the default), the
    # policy's stricter reading (under 18, see `_policy_ages`) applies to accounts there.
    "CN": 14,  # China: Personal Information Protection Law, Art. 31
    "IN": 18,  # India: Digital Personal Data Protection Act 2023, s. 2(j) and s. 9
}

# The EU member states: a member state the table does not name gets the GDPR default.
EU_MEMBER_STATES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    }
)
GDPR_DEFAULT_AGE = 16  # GDPR Art. 8(1)


def _policy_age() -> int:
    """The policy's own reading: a guardian consents for anyone without full civil capacity."""
    return int(settings.POLICY_ADULT_AGE)


def _policy_ages() -> dict[str, int]:
    """The policy applies in its own jurisdiction, where it is stricter than the statute."""
    jurisdiction = normalize_region(settings.PORTAL_JURISDICTION)
    if not jurisdiction:
        return {}
    return {jurisdiction: max(_policy_age(), STATUTORY_AGES.get(jurisdiction, 0))}


def normalize_region(region: object) -> str:
    """A region code in upper case ("" for none); accepts django-countries' Country too."""
    code = getattr(region, "code", region)
    return str(code or "").strip().upper()


def age_table() -> dict[str, int]:
    """Every region's threshold as it applies now: statute, the policy, then the settings."""
    table = {**STATUTORY_AGES, **_policy_ages()}
    table.update({normalize_region(k): int(v) for k, v in settings.GUARDIAN_CONSENT_AGES.items()})
    return table


def age_threshold(region: object) -> int:
    """The age below which a guardian must consent for a person in `region`.

    No region, or one the table does not name, gets the policy's own reading: it is the
    strictest, and the portal never guesses a lower age. An EU member state the table does not
    name gets the GDPR default.
    """
    code = normalize_region(region)
    table = age_table()
    if code in table:
        return table[code]
    if code in EU_MEMBER_STATES:
        return GDPR_DEFAULT_AGE
    if not code:
        return table.get(normalize_region(settings.PORTAL_JURISDICTION), _policy_age())
    return _policy_age()


def full_age(region: object) -> int:
    """The age below which purposes not marked for minors are never offered (see the module)."""
    return max(age_threshold(region), _policy_age())


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Completed years on `day`. Someone born on 29 February has a birthday on 1 March in
    years without one."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def birthday(birth_date: datetime.date, age: int) -> datetime.date:
    """The day a person born on `birth_date` turns `age` (1 March for 29 February)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return datetime.date(birth_date.year + age, 3, 1)


def is_minor(
    birth_date: datetime.date | None, region: object, on: datetime.date | None = None
) -> bool:
    """Whether a guardian must consent for this person on `on` (today). No date of birth is
    not treated as a minor's: the portal asks for one at every sign-up."""
    if birth_date is None:
        return False
    return age_on(birth_date, on or timezone.localdate()) < age_threshold(region)


def is_under_full_age(
    birth_date: datetime.date | None, region: object, on: datetime.date | None = None
) -> bool:
    """Whether purposes not for minors are withheld from this person on `on` (today)."""
    if birth_date is None:
        return False
    return age_on(birth_date, on or timezone.localdate()) < full_age(region)


def adult_on(birth_date: datetime.date, region: object) -> datetime.date:
    """The day the person reaches the threshold of `region`: no guardian is needed from then."""
    return birthday(birth_date, age_threshold(region))
