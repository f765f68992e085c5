"""The demo consent catalogue: policy version 1.0, the policy's purposes, demo SDK entries.

`seed_consent_catalogue()` is idempotent: it creates what is missing and never changes what
is there, so an operator's edits survive `make run`. The purposes follow the policy's
"How do we collect and use your Personal Information" (items 1-14). The policy names no
concrete SDK, so the third parties are labelled demo entries for an operator to replace.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import LegalBasis, PolicyVersion, Purpose, ThirdParty
from .policies import policy_publish, published_versions

POLICY_FILE = Path(__file__).resolve().parent / "data" / "privacy-policy.txt"
POLICY_VERSION = "1.0"
# "Last updated on: 06/08/2023 Effective on: 06/08/2023", as the text says (8 June 2023).
POLICY_DATE = datetime.date(2023, 6, 8)

_LIST_ITEM = re.compile(r"^(\d+\.|\(\d+\)|[ivx]+\.)\s*", re.IGNORECASE)
_ENDS_SENTENCE = (".", ":", ";", ",", "!", "?", ")", "]")


def _is_heading(line: str) -> bool:
    """A section title: a short line standing alone, not a list item and not a sentence."""
    if len(line) > 80 or ":" in line or line.endswith(_ENDS_SENTENCE):
        return False
    if _LIST_ITEM.match(line) and not re.match(r"^[IVX]+\. [A-Z]", line):
        return False  # "1. ..." is an item; "I. Definitions ..." is a numbered section title
    return line[:1].isupper() and len(line.split()) <= 12


def policy_text_to_markdown(text: str) -> str:
    """The plain-text policy as Markdown: its section titles become headings.

    Kept deliberately simple: paragraphs stay paragraphs, numbered items stay as they are
    (Markdown keeps their numbers), and the first line (the title) is dropped because the
    page shows the version's title. Markup-like characters are escaped so nothing in the text
    turns into HTML (the rendering sanitizes it in any case).
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    paragraphs = [line for line in lines if line]
    if paragraphs and _is_heading(paragraphs[0]):
        paragraphs = paragraphs[1:]
    out: list[str] = []
    for index, line in enumerate(paragraphs):
        escaped = line.replace("<", "&lt;")
        if index > 0 and index < len(paragraphs) - 1 and _is_heading(line):
            out.append(f"## {escaped}")
        else:
            out.append(escaped)
    return "\n\n".join(out) + "\n"


@dataclass(frozen=True)
class SeedThirdParty:
    key: str
    name: str
    description: str
    data_received: str
    privacy_policy_url: str
    country: str
    opt_out: str


@dataclass(frozen=True)
class SeedPurpose:
    key: str
    name: str
    description: str
    legal_basis: str
    pii_categories: list[str]
    kantara_purpose_category: str
    order: int
    is_optional: bool = False
    offered_to_minors: bool = True
    cookie_category: str = ""
    refused_by_gpc: bool = False
    third_parties: list[str] = field(default_factory=list)


# The demo's SDKs are examples: their keys start with this, and admin reminds staff to replace
# them. Their public descriptions say only what the SDK does, as a real entry's would.
DEMO_KEY_PREFIX = "demo-"

THIRD_PARTIES = [
    SeedThirdParty(
        key="demo-payments-sdk",
        name="Demo Payments SDK",
        description="Takes payments when you buy goods or services in our apps.",
        data_received="Payment method, payment account, order amount and payment status.",
        privacy_policy_url="https://payments.example.com/privacy",
        country="NL",
        opt_out="Needed to pay: you opt out by not buying through our apps.",
    ),
    SeedThirdParty(
        key="demo-analytics-sdk",
        name="Demo Analytics SDK",
        description="Counts visits and measures how our apps and pages are used.",
        data_received="Pages and screens viewed, device model, operating system, "
        "approximate region (from the IP address) and an analytics identifier.",
        privacy_policy_url="https://analytics.example.com/privacy",
        country="US",
        opt_out="Refuse or withdraw analytics in the cookie banner or on your dashboard; "
        "a Global Privacy Control signal from your browser is also respected.",
    ),
    SeedThirdParty(
        key="demo-push-sdk",
        name="Demo Push Notifications SDK",
        description="Delivers notifications to your device, such as security "
        "notices and replies to your requests.",
        data_received="A push token for your device, device model and operating system.",
        privacy_policy_url="https://push.example.com/privacy",
        country="US",
        opt_out="Turn notifications off in your device's settings.",
    ),
    SeedThirdParty(
        key="demo-crash-reporting-sdk",
        name="Demo Crash Reporting SDK",
        description="Sends us a report when the app crashes, so we can fix it.",
        data_received="Crash details, device model, operating system and app version.",
        privacy_policy_url="https://crashes.example.com/privacy",
        country="IE",
        opt_out="Write to {contact} to have crash reports from your device left out.",
    ),
]

PURPOSES = [
    SeedPurpose(
        key="account",
        name="Account and login",
        description=(
            "To create your account and sign you in. We collect your e-mail address and a "
            "password, which is stored, transmitted and verified only in encrypted form, never "
            "in clear text. If you sign in with a third-party account, we receive what you "
            "authorise that platform to share (such as nickname, region and gender). Details "
            "you add to your profile (nickname, occupation, signature, gender, birthday, "
            "region, education, about you) are optional. Without an e-mail address and "
            "password you cannot register."
        ),
        legal_basis=LegalBasis.CONTRACT,
        pii_categories=["1 - Biographical", "2 - Contact", "5 - Network/Service"],
        kantara_purpose_category="1 - Core Function",
        order=10,
    ),
    SeedPurpose(
        key="security",
        name="Security and fraud prevention",
        description=(
            "To keep your account and our services secure: verifying your identity, detecting "
            "and preventing security incidents, viruses, attacks and intrusions, monitoring "
            "fraud, and archiving and backup. We use identity information, common device "
            "information and service logs, alone or together, to judge account and "
            "transaction risks."
        ),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        pii_categories=["5 - Network/Service", "11 - Property/Asset", "15 - Behavioural"],
        kantara_purpose_category="15 - Protecting Our Interests",
        order=20,
    ),
    SeedPurpose(
        key="device-and-logs",
        name="Device and log information",
        description=(
            "To keep our services working and improve their performance. We automatically "
            "record log information (login account, date and time of access, IP address, "
            "network environment, browsing, download and play records) and device "
            "information (such as device model and brand, operating system and app version, "
            "device identifiers, browser type and language settings). Device or log "
            "information alone cannot identify you."
        ),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        pii_categories=["5 - Network/Service", "11 - Property/Asset", "15 - Behavioural"],
        kantara_purpose_category="16 - Improve Performance",
        order=30,
    ),
    SeedPurpose(
        key="location",
        name="Location",
        description=(
            "To use your device's location (GPS, Wi-Fi access points, Bluetooth and base "
            "stations) where a feature needs it, only with your permission. You can withdraw "
            "it at any time; the rest of the service keeps working."
        ),
        legal_basis=LegalBasis.CONSENT,
        is_optional=True,
        pii_categories=["15 - Behavioural"],
        kantara_purpose_category="5 - Personalized Experience",
        order=40,
    ),
    SeedPurpose(
        key="search-history",
        name="Search history",
        description=(
            "To run the search you ask for. When you type in the search box and press "
            "\u201cSearch\u201d, we collect the words searched for, your browsing history and "
            "the time of the search, to show you what you looked for and improve our "
            "services."
        ),
        legal_basis=LegalBasis.CONTRACT,
        pii_categories=["15 - Behavioural"],
        kantara_purpose_category="2 - Contracted Service",
        order=50,
    ),
    SeedPurpose(
        key="personalised-content-and-ads",
        name="Personalised content and advertising (User Profiling)",
        description=(
            "To show you content and advertisements matching your interests, based on a "
            "profile built from your profile details and how you use our services (User "
            "Profiling: predicting features such as preferences and behaviour). Only with "
            "your consent. Without it you see general content and advertising, and "
            "registration and membership work as usual."
        ),
        legal_basis=LegalBasis.CONSENT,
        is_optional=True,
        offered_to_minors=False,
        cookie_category="advertising",
        refused_by_gpc=True,
        pii_categories=["1 - Biographical", "15 - Behavioural", "16 - Profile"],
        kantara_purpose_category="5 - Personalized Experience",
        order=60,
    ),
    SeedPurpose(
        key="marketing-email",
        name="Marketing e-mail",
        description=(
            "To e-mail you about our other products, services and offers. Only with your "
            "consent; every such e-mail lets you stop them. Service messages (security "
            "notices, replies to your requests, changes to this policy) are not marketing."
        ),
        legal_basis=LegalBasis.CONSENT,
        is_optional=True,
        offered_to_minors=False,
        pii_categories=["2 - Contact"],
        kantara_purpose_category="6 - Marketing",
        order=70,
    ),
    SeedPurpose(
        key="content-moderation",
        name="Content moderation",
        description=(
            "To filter pornographic, violent, political, abusive, malicious advertising and "
            "other inappropriate content, as the law requires of online services. We use the "
            "information you and others generate while using our services."
        ),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        pii_categories=["4 - Communications/Social", "15 - Behavioural"],
        kantara_purpose_category="13 - Required by Law Enforcement or Government",
        order=80,
    ),
    SeedPurpose(
        key="customer-service",
        name="Customer service",
        description=(
            "To answer you when you contact us and to tell you what you need to know about "
            "the service (for example a major release or a change to this policy), by e-mail, "
            "site message or notification. We check your identity, and keep what you send us "
            "and the record of how we handled it."
        ),
        legal_basis=LegalBasis.CONTRACT,
        pii_categories=["2 - Contact", "4 - Communications/Social"],
        kantara_purpose_category="4 - Contact Requested",
        third_parties=["demo-push-sdk"],
        order=90,
    ),
    SeedPurpose(
        key="payments",
        name="Payments",
        description=(
            "To let you buy goods or services: your payment method, payment account and "
            "payment status, handled through a payment SDK. Without them you cannot buy, "
            "but everything else keeps working."
        ),
        legal_basis=LegalBasis.CONTRACT,
        pii_categories=["7 - Financial"],
        kantara_purpose_category="2 - Contracted Service",
        third_parties=["demo-payments-sdk"],
        order=100,
    ),
    SeedPurpose(
        key="third-party-sdks",
        name="Third-party SDKs for stability and features",
        description=(
            "To keep the services secure and stable and provide specific functions, some of "
            "our software includes SDKs made by other companies, which receive the "
            "information listed for each of them in the third-party SDK list."
        ),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        pii_categories=["5 - Network/Service", "11 - Property/Asset"],
        kantara_purpose_category="8 - Sharing for Delivery",
        third_parties=["demo-crash-reporting-sdk", "demo-push-sdk"],
        order=110,
    ),
    SeedPurpose(
        key="analytics-sdk",
        name="Usage analytics by a third-party SDK",
        description=(
            "To understand how our apps and pages are used (for example, counting visitors "
            "on an aggregate basis), through an analytics SDK that receives usage and device "
            "information. Only with your consent, given in the cookie banner or your "
            "dashboard."
        ),
        legal_basis=LegalBasis.CONSENT,
        is_optional=True,
        cookie_category="analytics",
        refused_by_gpc=True,
        pii_categories=["5 - Network/Service", "11 - Property/Asset", "15 - Behavioural"],
        kantara_purpose_category="10 - 3rd Party Sharing for Core Function",
        third_parties=["demo-analytics-sdk"],
        order=120,
    ),
]


def _policy_version() -> PolicyVersion | None:
    """Version 1.0 from the shipped text, published; nothing if the operator has a policy."""
    existing = PolicyVersion.objects.filter(version=POLICY_VERSION).first()
    if existing is not None:
        return existing if existing.is_published else None
    if published_versions().exists():
        return None
    version = PolicyVersion.objects.create(
        version=POLICY_VERSION,
        title="Privacy Policy",
        text=policy_text_to_markdown(POLICY_FILE.read_text(encoding="utf-8")),
        summary_of_changes="",
        last_updated=POLICY_DATE,
        effective_on=POLICY_DATE,
        is_material=False,
    )
    return policy_publish(version=version, actor=None)


@transaction.atomic
def seed_consent_catalogue() -> None:
    """Create the demo policy, purposes and SDK entries that are missing. Idempotent."""
    version = _policy_version()
    third_parties = {}
    for entry in THIRD_PARTIES:
        third_parties[entry.key], _created = ThirdParty.objects.get_or_create(
            key=entry.key,
            defaults={
                "name": entry.name,
                "description": entry.description,
                "data_received": entry.data_received,
                "privacy_policy_url": entry.privacy_policy_url,
                "country": entry.country,
                # The contact address is configuration, read when seeding.
                "opt_out": entry.opt_out.format(contact=settings.COMPANY_CONTACT_EMAIL),
            },
        )
    for seed in PURPOSES:
        purpose, created = Purpose.objects.get_or_create(
            key=seed.key,
            defaults={
                "name": seed.name,
                "description": seed.description,
                "legal_basis": seed.legal_basis,
                "is_optional": seed.is_optional,
                "pii_categories": seed.pii_categories,
                "kantara_purpose_category": seed.kantara_purpose_category,
                "offered_to_minors": seed.offered_to_minors,
                "cookie_category": seed.cookie_category,
                "refused_by_gpc": seed.refused_by_gpc,
                "introduced_in": version,
                "order": seed.order,
            },
        )
        if created:
            purpose.third_parties.set([third_parties[key] for key in seed.third_parties])
