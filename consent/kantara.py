"""The category lists of the Kantara Initiative Consent Receipt Specification v1.1.

Appendix B (purpose categories) and Appendix C (categories of personal data), as the strings
stored on purposes ("2 - Contact") and copied into receipts.
"""

from __future__ import annotations

PII_CATEGORIES = [
    "1 - Biographical",
    "2 - Contact",
    "3 - Biometric",
    "4 - Communications/Social",
    "5 - Network/Service",
    "6 - Health",
    "7 - Financial",
    "8 - Official/Government Identifiers",
    "9 - Social Services/Welfare",
    "10 - Judicial",
    "11 - Property/Asset",
    "12 - Human Resources",
    "13 - Psychological/Attitudinal",
    "14 - Membership",
    "15 - Behavioural",
    "16 - Profile",
]

PURPOSE_CATEGORIES = [
    "1 - Core Function",
    "2 - Contracted Service",
    "3 - Delivery",
    "4 - Contact Requested",
    "5 - Personalized Experience",
    "6 - Marketing",
    "7 - Marketing Third Parties",
    "8 - Sharing for Delivery",
    "9 - Sharing for Marketing",
    "10 - 3rd Party Sharing for Core Function",
    "11 - 3rd Party Sharing for ...",
    "12 - Legally Required Data Retention",
    "13 - Required by Law Enforcement or Government",
    "14 - Protecting Your Health",
    "15 - Protecting Our Interests",
    "16 - Improve Performance",
]
